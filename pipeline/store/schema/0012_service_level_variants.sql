-- The service-level variants (docs/kpis.md, "Service level, three ways"): one new count,
-- `abandoned_within_sl` (abandoned, short abandons included, with wait <= the queue's
-- sl_threshold_us), so that Connect's service level is a ratio of interval counts:
--
--   service_level_connect  = (answered_within_sl + abandoned_within_sl) / offered
--   service_level_answered = answered_within_sl / answered
--
-- The stream's `kpi_intervals` gets the count as a column (0 in rows written before it; the
-- stream republishes every interval it holds after a restart), and each view is created
-- again with it: `segment_facts` (the per-segment flag), `kpi_interval_counts` (the count, in
-- COUNT_FIELDS order), `kpi_interval_report` and `kpi_interval_report_with` (the count and the
-- two KPIs, after the contract's columns), `kpi_intervals_merged` (the count summed).
ALTER TABLE kpi_intervals
    ADD COLUMN IF NOT EXISTS abandoned_within_sl Int64 DEFAULT 0 CODEC(T64, ZSTD(1))
    AFTER wait_abandoned_sum_us;

-- Effective-dated settings (docs/definitions.md): every interval row of the stream names the
-- settings version its counts were computed with, `QueueConfig.version`, such as
-- `2026-11-25#1f0c6a2e` (the date the version in force applies from, `base` before any
-- dated one, and a digest of its thresholds); '' in rows written before this column.
ALTER TABLE kpi_intervals
    ADD COLUMN IF NOT EXISTS settings_version LowCardinality(String) DEFAULT ''
    AFTER abandoned_within_sl;

CREATE OR REPLACE VIEW kpi_intervals_merged AS
SELECT
    tenant,
    queue,
    channel,
    interval_start,
    sum(offered) AS offered,
    sum(answered) AS answered,
    sum(abandoned) AS abandoned,
    sum(short_abandoned) AS short_abandoned,
    sum(answered_within_sl) AS answered_within_sl,
    sum(wait_answered_sum_us) AS wait_answered_sum_us,
    max(max_wait_us) AS max_wait_us,
    sum(handled) AS handled,
    sum(handle_sum_us) AS handle_sum_us,
    sum(transferred) AS transferred,
    sum(fcr_eligible) AS fcr_eligible,
    sum(fcr_resolved) AS fcr_resolved,
    sum(fcr_pending) AS fcr_pending,
    sum(csat_responses) AS csat_responses,
    sum(csat_good) AS csat_good,
    sum(nps_responses) AS nps_responses,
    sum(nps_promoters) AS nps_promoters,
    sum(nps_detractors) AS nps_detractors,
    sum(wait_abandoned_sum_us) AS wait_abandoned_sum_us,
    sum(abandoned_within_sl) AS abandoned_within_sl,
    -- The sources of one interval share it; max() keeps a named one over an older row's ''.
    max(settings_version) AS settings_version
FROM kpi_intervals FINAL
GROUP BY tenant, queue, channel, interval_start;

CREATE OR REPLACE VIEW segment_facts AS
SELECT
    s.tenant AS tenant,
    s.contact_id AS contact_id,
    s.queue AS queue,
    s.channel AS channel,
    s.interval_start AS interval_start,
    s.offered_ts AS offered_ts,
    s.customer_id AS customer_id,
    s.reason AS reason,
    s.outcome AS outcome,
    s.outcome_ts AS outcome_ts,
    s.wait_us AS wait_us,
    s.answer_agent_id AS answer_agent_id,
    s.transferred AS transferred,
    s.to_queue AS to_queue,
    s.transferred_ts AS transferred_ts,
    s.ended_ts AS ended_ts,
    s.talk_us AS talk_us,
    s.hold_us AS hold_us,
    s.end_agent_id AS end_agent_id,
    s.wrapup_ts AS wrapup_ts,
    s.acw_us AS acw_us,
    s.resolved AS resolved,
    s.disposition AS disposition,
    s.csat_responses AS csat_responses,
    s.csat_good AS csat_good,
    s.nps_responses AS nps_responses,
    s.nps_promoters AS nps_promoters,
    s.nps_detractors AS nps_detractors,
    s.sl_threshold_us AS sl_threshold_us,
    s.short_abandon_us AS short_abandon_us,
    s.fcr_window_us AS fcr_window_us,
    s.anomalies AS anomalies,
    s.version AS version,
    toUnixTimestamp64Micro(s.offered_ts) AS offered_us,
    (SELECT toUnixTimestamp64Micro(max(ts)) FROM events) AS watermark_us,
    n.next_other_offer_us AS next_other_offer_us,
    -- Per-segment facts that no threshold changes. CAST, not toUInt8: a comparison on a
    -- LowCardinality column is LowCardinality(UInt8), which ClickHouse 23.x refuses in a view.
    toUInt8(s.outcome IS NOT NULL) AS has_outcome,
    CAST(ifNull(s.outcome, '') = 'answered', 'UInt8') AS is_answered,
    CAST(ifNull(s.outcome, '') = 'abandoned', 'UInt8') AS is_abandoned_any,
    toUInt8(s.ended_ts IS NOT NULL) AS is_handled,
    if(s.ended_ts IS NULL, NULL,
       ifNull(s.talk_us, 0) + ifNull(s.hold_us, 0) + ifNull(s.acw_us, 0)) AS handle_us,
    toUInt8(s.customer_id IS NOT NULL) AS has_customer,
    toUInt8(ifNull(s.resolved, 1) != 0) AS resolved_flag,
    -- Under the stored thresholds, exactly as the report counts them.
    toUInt8(is_answered AND ifNull(s.wait_us, 0) <= s.sl_threshold_us) AS within_sl,
    toUInt8(is_abandoned_any AND ifNull(s.wait_us, 0) >= s.short_abandon_us) AS is_abandoned,
    toUInt8(is_abandoned_any AND ifNull(s.wait_us, 0) < s.short_abandon_us)
        AS is_short_abandoned,
    toUInt8(is_abandoned_any AND ifNull(s.wait_us, 0) <= s.sl_threshold_us)
        AS abandoned_within_sl,
    toUInt8(is_handled AND has_customer) AS fcr_candidate,
    toUInt8(fcr_candidate AND watermark_us > offered_us + s.fcr_window_us) AS fcr_eligible,
    toUInt8(fcr_eligible AND resolved_flag
        AND NOT ifNull(next_other_offer_us <= offered_us + s.fcr_window_us, 0)) AS fcr_resolved,
    toUInt8(fcr_candidate AND NOT (watermark_us > offered_us + s.fcr_window_us))
        AS fcr_pending
FROM segments AS s FINAL
LEFT JOIN
(
    SELECT
        h.tenant AS tenant,
        h.contact_id AS contact_id,
        h.queue AS queue,
        minIfOrNull(o.offered_us, o.contact_id != h.contact_id AND o.offered_us > h.offered_us)
            AS next_other_offer_us
    FROM
    (
        SELECT tenant, contact_id, queue, ifNull(customer_id, '') AS customer,
               toUnixTimestamp64Micro(offered_ts) AS offered_us
        FROM segments FINAL
        WHERE customer_id IS NOT NULL AND ended_ts IS NOT NULL
    ) AS h
    INNER JOIN
    (
        SELECT tenant, contact_id, ifNull(customer_id, '') AS customer,
               toUnixTimestamp64Micro(offered_ts) AS offered_us
        FROM segments FINAL
        WHERE customer_id IS NOT NULL
    ) AS o ON h.tenant = o.tenant AND h.customer = o.customer
    GROUP BY h.tenant, h.contact_id, h.queue
) AS n ON s.tenant = n.tenant AND s.contact_id = n.contact_id AND s.queue = n.queue;

CREATE OR REPLACE VIEW kpi_interval_counts AS
SELECT
    tenant,
    queue,
    channel,
    interval_start,
    toInt64(count()) AS offered,
    toInt64(sum(is_answered)) AS answered,
    toInt64(sum(is_abandoned)) AS abandoned,
    toInt64(sum(is_short_abandoned)) AS short_abandoned,
    toInt64(sum(within_sl)) AS answered_within_sl,
    toInt64(sum(if(is_answered = 1, ifNull(wait_us, 0), 0))) AS wait_answered_sum_us,
    toInt64(if(sum(has_outcome) = 0, -1, maxIf(ifNull(wait_us, 0), has_outcome = 1)))
        AS max_wait_us,
    toInt64(sum(is_handled)) AS handled,
    toInt64(sum(ifNull(handle_us, 0))) AS handle_sum_us,
    toInt64(sum(transferred)) AS transferred,
    toInt64(sum(fcr_eligible)) AS fcr_eligible,
    toInt64(sum(fcr_resolved)) AS fcr_resolved,
    toInt64(sum(fcr_pending)) AS fcr_pending,
    toInt64(sum(csat_responses)) AS csat_responses,
    toInt64(sum(csat_good)) AS csat_good,
    toInt64(sum(nps_responses)) AS nps_responses,
    toInt64(sum(nps_promoters)) AS nps_promoters,
    toInt64(sum(nps_detractors)) AS nps_detractors,
    toInt64(sum(if(is_abandoned_any = 1, ifNull(wait_us, 0), 0))) AS wait_abandoned_sum_us,
    toInt64(sum(abandoned_within_sl)) AS abandoned_within_sl
FROM segment_facts
GROUP BY tenant, queue, channel, interval_start;

CREATE OR REPLACE VIEW kpi_interval_report AS
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
        AS nps,
    abandoned_within_sl,
    if(offered = 0, NULL, (answered_within_sl + abandoned_within_sl) / offered)
        AS service_level_connect,
    if(answered = 0, NULL, answered_within_sl / answered) AS service_level_answered
FROM kpi_interval_counts;

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
        AS nps,
    abandoned_within_sl,
    if(offered = 0, NULL, (answered_within_sl + abandoned_within_sl) / offered)
        AS service_level_connect,
    if(answered = 0, NULL, answered_within_sl / answered) AS service_level_answered
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
        toInt64(sum(nps_detractors)) AS nps_detractors,
        toInt64(sum(w_abandoned_within_sl)) AS abandoned_within_sl
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
            toUInt8(is_abandoned_any AND ifNull(wait_us, 0) <= w_sl_us) AS w_abandoned_within_sl,
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
