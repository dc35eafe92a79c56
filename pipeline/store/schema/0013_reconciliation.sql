-- Reconciliation (docs/definitions.md, `ccpipe check`): a view that lists what does not add
-- up, so that an empty result is the proof. (The day check, in pipeline/reconcile.py, is a
-- query: ClickHouse 23.x refuses a view parameter as a time zone.)
--
-- `kpi_reconciliation`: per interval, the stream's row (`kpi_intervals_merged`) against the
-- same interval counted in SQL from the stored segments (`kpi_interval_counts`), every count
-- of COUNT_FIELDS; `differences` names the counts that differ, `in_stream`/`in_segments` say
-- whether each side has the interval at all. Only intervals that differ are listed.
CREATE OR REPLACE VIEW kpi_reconciliation AS
SELECT
    tenant,
    queue,
    channel,
    interval_start,
    s.in_stream AS in_stream,
    c.in_segments AS in_segments,
    arrayFilter(x -> x != '', [
        if(s.offered != c.offered, 'offered', ''),
        if(s.answered != c.answered, 'answered', ''),
        if(s.abandoned != c.abandoned, 'abandoned', ''),
        if(s.short_abandoned != c.short_abandoned, 'short_abandoned', ''),
        if(s.answered_within_sl != c.answered_within_sl, 'answered_within_sl', ''),
        if(s.wait_answered_sum_us != c.wait_answered_sum_us, 'wait_answered_sum_us', ''),
        if(s.max_wait_us != c.max_wait_us, 'max_wait_us', ''),
        if(s.handled != c.handled, 'handled', ''),
        if(s.handle_sum_us != c.handle_sum_us, 'handle_sum_us', ''),
        if(s.transferred != c.transferred, 'transferred', ''),
        if(s.fcr_eligible != c.fcr_eligible, 'fcr_eligible', ''),
        if(s.fcr_resolved != c.fcr_resolved, 'fcr_resolved', ''),
        if(s.fcr_pending != c.fcr_pending, 'fcr_pending', ''),
        if(s.csat_responses != c.csat_responses, 'csat_responses', ''),
        if(s.csat_good != c.csat_good, 'csat_good', ''),
        if(s.nps_responses != c.nps_responses, 'nps_responses', ''),
        if(s.nps_promoters != c.nps_promoters, 'nps_promoters', ''),
        if(s.nps_detractors != c.nps_detractors, 'nps_detractors', ''),
        if(s.wait_abandoned_sum_us != c.wait_abandoned_sum_us, 'wait_abandoned_sum_us', ''),
        if(s.abandoned_within_sl != c.abandoned_within_sl, 'abandoned_within_sl', '')
    ]) AS differences
FROM
(
    SELECT
        tenant,
        queue,
        channel,
        interval_start,
        toUInt8(1) AS in_stream,
        offered,
        answered,
        abandoned,
        short_abandoned,
        answered_within_sl,
        wait_answered_sum_us,
        max_wait_us,
        handled,
        handle_sum_us,
        transferred,
        fcr_eligible,
        fcr_resolved,
        fcr_pending,
        csat_responses,
        csat_good,
        nps_responses,
        nps_promoters,
        nps_detractors,
        wait_abandoned_sum_us,
        abandoned_within_sl
    FROM kpi_intervals_merged
) AS s
FULL OUTER JOIN
(
    SELECT
        tenant,
        queue,
        channel,
        interval_start,
        toUInt8(1) AS in_segments,
        offered,
        answered,
        abandoned,
        short_abandoned,
        answered_within_sl,
        wait_answered_sum_us,
        max_wait_us,
        handled,
        handle_sum_us,
        transferred,
        fcr_eligible,
        fcr_resolved,
        fcr_pending,
        csat_responses,
        csat_good,
        nps_responses,
        nps_promoters,
        nps_detractors,
        wait_abandoned_sum_us,
        abandoned_within_sl
    FROM kpi_interval_counts
) AS c USING (tenant, queue, channel, interval_start)
WHERE in_stream = 0 OR in_segments = 0 OR notEmpty(differences);
