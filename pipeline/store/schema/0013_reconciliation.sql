-- Reconciliation (docs/definitions.md, `ccpipe check`): views that list what does not add
-- up, so that an empty result is the proof.
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

-- `kpi_day_reconciliation(timezone)`: per local day (in `timezone`), the sum of the stream's
-- interval rows of the day against the day counted in one piece from its segments (offered
-- that day), for the counts a segment adds one of: the intervals add up to the day. Only
-- days that differ are listed.
CREATE OR REPLACE VIEW kpi_day_reconciliation AS
SELECT
    tenant,
    queue,
    channel,
    day,
    i.in_intervals AS in_intervals,
    d.in_segments AS in_segments,
    arrayFilter(x -> x != '', [
        if(i.offered != d.offered, 'offered', ''),
        if(i.answered != d.answered, 'answered', ''),
        if(i.abandoned != d.abandoned, 'abandoned', ''),
        if(i.short_abandoned != d.short_abandoned, 'short_abandoned', ''),
        if(i.answered_within_sl != d.answered_within_sl, 'answered_within_sl', ''),
        if(i.abandoned_within_sl != d.abandoned_within_sl, 'abandoned_within_sl', ''),
        if(i.handled != d.handled, 'handled', ''),
        if(i.transferred != d.transferred, 'transferred', '')
    ]) AS differences
FROM
(
    SELECT
        tenant,
        queue,
        channel,
        toDate(interval_start, {timezone:String}) AS day,
        toUInt8(1) AS in_intervals,
        sum(offered) AS offered,
        sum(answered) AS answered,
        sum(abandoned) AS abandoned,
        sum(short_abandoned) AS short_abandoned,
        sum(answered_within_sl) AS answered_within_sl,
        sum(abandoned_within_sl) AS abandoned_within_sl,
        sum(handled) AS handled,
        sum(transferred) AS transferred
    FROM kpi_intervals_merged
    GROUP BY tenant, queue, channel, day
) AS i
FULL OUTER JOIN
(
    SELECT
        tenant,
        queue,
        channel,
        toDate(offered_ts, {timezone:String}) AS day,
        toUInt8(1) AS in_segments,
        toInt64(count()) AS offered,
        toInt64(sum(is_answered)) AS answered,
        toInt64(sum(is_abandoned)) AS abandoned,
        toInt64(sum(is_short_abandoned)) AS short_abandoned,
        toInt64(sum(within_sl)) AS answered_within_sl,
        toInt64(sum(abandoned_within_sl)) AS abandoned_within_sl,
        toInt64(sum(is_handled)) AS handled,
        toInt64(sum(transferred)) AS transferred
    FROM segment_facts
    GROUP BY tenant, queue, channel, day
) AS d USING (tenant, queue, channel, day)
WHERE in_intervals = 0 OR in_segments = 0 OR notEmpty(differences);
