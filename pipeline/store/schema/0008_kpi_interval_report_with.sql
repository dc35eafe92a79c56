-- "What would service level have been at 30 s?": the interval report recomputed from
-- `segments` with other thresholds or another FCR window, as a parameterized view.
--
--   SELECT * FROM kpi_interval_report_with(sl_threshold_s = 30, short_abandon_s = -1,
--                                          fcr_window_s = -1)
--   WHERE tenant = 'default' AND interval_start >= '2026-11-22' ...
--
-- A negative value keeps each queue's stored threshold. Seconds may be fractional; they
-- become microseconds as the core's `seconds_to_us` does (rounded). Same columns as
-- `kpi_interval_report`, and with all three at -1 the same rows. Checked on ClickHouse
-- 23.6 and 23.10 (the old analyzer, as 23.8 runs by default) and 26.9; if a server refuses
-- it, run the inner SQL as a query with {name:Type} parameters instead.
CREATE OR REPLACE VIEW kpi_interval_report_with AS
SELECT
    tenant,
    queue,
    channel,
    toDateTime(interval_start, 'UTC') AS interval_start,
    offered,
    answered,
    abandoned,
    short_abandoned,
    answered_within_sl,
    if(answered + abandoned = 0, NULL, answered_within_sl / (answered + abandoned))
        AS service_level,
    if(answered = 0, NULL, wait_answered_sum_us / (answered * 1000000)) AS asa_s,
    if(max_wait_us < 0, NULL, max_wait_us / 1000000) AS max_wait_s,
    if(offered - short_abandoned = 0, NULL, abandoned / (offered - short_abandoned))
        AS abandon_rate,
    if(offered = 0, NULL, answered / offered) AS response_rate,
    handled,
    if(handled = 0, NULL, handle_sum_us / (handled * 1000000)) AS aht_s,
    transferred,
    if(answered = 0, NULL, transferred / answered) AS transfer_rate,
    fcr_eligible,
    fcr_resolved,
    if(fcr_eligible = 0, NULL, fcr_resolved / fcr_eligible) AS fcr_rate,
    fcr_pending,
    csat_responses,
    if(csat_responses = 0, NULL, csat_good / csat_responses) AS csat,
    nps_responses,
    if(nps_responses = 0, NULL, (100 * (nps_promoters - nps_detractors)) / nps_responses)
        AS nps
FROM
(
    SELECT
        tenant,
        queue,
        channel,
        interval_start,
        toInt64(count()) AS offered,
        toInt64(sum(is_answered)) AS answered,
        toInt64(sum(w_abandoned)) AS abandoned,
        toInt64(sum(w_short_abandoned)) AS short_abandoned,
        toInt64(sum(w_within_sl)) AS answered_within_sl,
        toInt64(sum(if(is_answered = 1, ifNull(wait_us, 0), 0))) AS wait_answered_sum_us,
        toInt64(if(sum(has_outcome) = 0, -1, maxIf(ifNull(wait_us, 0), has_outcome = 1)))
            AS max_wait_us,
        toInt64(sum(is_handled)) AS handled,
        toInt64(sum(ifNull(handle_us, 0))) AS handle_sum_us,
        toInt64(sum(transferred)) AS transferred,
        toInt64(sum(w_fcr_eligible)) AS fcr_eligible,
        toInt64(sum(w_fcr_resolved)) AS fcr_resolved,
        toInt64(sum(w_fcr_pending)) AS fcr_pending,
        toInt64(sum(csat_responses)) AS csat_responses,
        toInt64(sum(csat_good)) AS csat_good,
        toInt64(sum(nps_responses)) AS nps_responses,
        toInt64(sum(nps_promoters)) AS nps_promoters,
        toInt64(sum(nps_detractors)) AS nps_detractors
    FROM
    (
        SELECT
            tenant, queue, channel, interval_start, wait_us, handle_us, transferred,
            csat_responses, csat_good, nps_responses, nps_promoters, nps_detractors,
            has_outcome, is_answered, is_handled,
            if({sl_threshold_s:Float64} < 0, sl_threshold_us,
               toInt64(round({sl_threshold_s:Float64} * 1000000))) AS w_sl_us,
            if({short_abandon_s:Float64} < 0, short_abandon_us,
               toInt64(round({short_abandon_s:Float64} * 1000000))) AS w_short_us,
            if({fcr_window_s:Float64} < 0, fcr_window_us,
               toInt64(round({fcr_window_s:Float64} * 1000000))) AS w_window_us,
            toUInt8(is_answered AND ifNull(wait_us, 0) <= w_sl_us) AS w_within_sl,
            toUInt8(is_abandoned_any AND ifNull(wait_us, 0) >= w_short_us) AS w_abandoned,
            toUInt8(is_abandoned_any AND ifNull(wait_us, 0) < w_short_us) AS w_short_abandoned,
            toUInt8(fcr_candidate AND watermark_us > offered_us + w_window_us)
                AS w_fcr_eligible,
            toUInt8(w_fcr_eligible AND resolved_flag
                AND NOT ifNull(next_other_offer_us <= offered_us + w_window_us, 0))
                AS w_fcr_resolved,
            toUInt8(fcr_candidate AND NOT (watermark_us > offered_us + w_window_us))
                AS w_fcr_pending
        FROM segment_facts
    )
    GROUP BY tenant, queue, channel, interval_start
);
