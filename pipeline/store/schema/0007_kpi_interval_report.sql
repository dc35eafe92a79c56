-- The contract's KPI rows, computed from `segments` (not from the stream's counts), with
-- exactly the columns, names and nulls of `ccpipe kpis`.
--
-- `kpi_interval_counts` holds the mergeable counts per interval, in the layout of
-- `kpi_intervals_merged` (so the two can be compared, and rolled up to hours or days by
-- summing before dividing). Every rate is ONE division of two integers, as
-- pipeline/core/intervals.py `report_row` does it, so both agree to the last digit.
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
    toInt64(sum(nps_detractors)) AS nps_detractors
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
        AS nps
FROM kpi_interval_counts;
