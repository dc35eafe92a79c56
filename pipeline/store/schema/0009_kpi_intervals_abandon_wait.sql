-- The waits of abandoned segments (short abandons included), summed per interval like the
-- answered waits: with those and the waits of contacts still waiting, the time customers were
-- exposed to abandoning, from which staffing estimates their patience (docs/staffing.md).
-- Rows written before this migration read 0.
ALTER TABLE kpi_intervals ADD COLUMN IF NOT EXISTS wait_abandoned_sum_us Int64 DEFAULT 0
    CODEC(T64, ZSTD(1)) AFTER nps_detractors;

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
    sum(wait_abandoned_sum_us) AS wait_abandoned_sum_us
FROM kpi_intervals FINAL
GROUP BY tenant, queue, channel, interval_start;

-- The same sum computed from `segments`, so the two layouts still compare column by column.
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
    toInt64(sum(if(is_abandoned_any = 1, ifNull(wait_us, 0), 0))) AS wait_abandoned_sum_us
FROM segment_facts
GROUP BY tenant, queue, channel, interval_start;
