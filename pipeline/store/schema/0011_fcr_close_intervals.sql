-- First-contact resolution by when each segment's FCR window closed: the base of the live
-- FCR figures over days (catalogue `FCR_LIVE`: FCR 7 and 30 days), in SQL.
--
-- A segment counts once its window has closed (`segment_facts.fcr_eligible`: handled, with
-- a customer, watermark past offered + window), in the 15-minute UTC interval of its close
-- (offered + window). Every time zone's offset is a whole number of quarter hours, so a
-- close interval lies in one local date of any zone: a tenant's days are
-- `toDate(close_start, 'Europe/Oslo')`, and no zone is stored. `pipeline/kpi_sql.py` renders
-- the by-day and trailing 7- and 30-day queries from the catalogue (docs/queries.md); tests
-- hold them equal to `FcrTracker`'s figures. A rate is ONE division of summed counts.
CREATE OR REPLACE VIEW fcr_close_intervals AS
SELECT
    tenant,
    queue,
    channel,
    fromUnixTimestamp64Micro(close_us - close_us % 900000000, 'UTC') AS close_start,
    toInt64(count()) AS fcr_eligible,
    toInt64(sum(resolved)) AS fcr_resolved
FROM
(
    SELECT tenant, queue, channel, fcr_resolved AS resolved, offered_us + fcr_window_us AS close_us
    FROM segment_facts
    WHERE fcr_eligible = 1
)
GROUP BY tenant, queue, channel, close_start;
