-- First-contact resolution by the day each segment's FCR window closed, and over the
-- trailing 7 and 30 days: the live FCR figures of the wallboard (catalogue `FCR_LIVE`,
-- pipeline/core/fcr.py `FcrTracker` with a zone), in SQL (tests/store hold them equal).
--
-- A segment counts once its window has closed (`segment_facts.fcr_eligible`: handled, with
-- a customer, watermark past offered + window), on the local date of offered + window in
-- `zone`, the tenant's time zone ('UTC' unless the settings give it another; a tenant's
-- rows need its own zone, so filter by tenant):
--
--   SELECT * FROM fcr_by_close_day(zone = 'Europe/Oslo') WHERE tenant = 'default'
--
-- `fcr_trailing(zone = ...)` sums the windows that closed on the watermark's local date
-- and the 6 (29) dates before it, per (tenant, queue, channel): FCR 7 and 30 days as the
-- wallboard shows them at the watermark. Every rate is ONE division; roll channels or
-- queues up by summing eligible and resolved first.
CREATE OR REPLACE VIEW fcr_by_close_day AS
SELECT
    tenant,
    queue,
    channel,
    close_day,
    toInt64(count()) AS fcr_eligible,
    toInt64(sum(resolved)) AS fcr_resolved,
    if(fcr_eligible = 0, NULL, fcr_resolved / fcr_eligible) AS fcr_rate
FROM
(
    SELECT
        tenant,
        queue,
        channel,
        fcr_resolved AS resolved,
        toDate(fromUnixTimestamp64Micro(offered_us + fcr_window_us, 'UTC'), {zone:String})
            AS close_day
    FROM segment_facts
    WHERE fcr_eligible = 1
)
GROUP BY tenant, queue, channel, close_day;

CREATE OR REPLACE VIEW fcr_trailing AS
SELECT
    tenant,
    queue,
    channel,
    any(today) AS as_of,
    toInt64(sumIf(fcr_eligible, close_day > today - 7)) AS fcr_7d_eligible,
    toInt64(sumIf(fcr_resolved, close_day > today - 7)) AS fcr_7d_resolved,
    if(fcr_7d_eligible = 0, NULL, fcr_7d_resolved / fcr_7d_eligible) AS fcr_7d,
    toInt64(sum(fcr_eligible)) AS fcr_30d_eligible,
    toInt64(sum(fcr_resolved)) AS fcr_30d_resolved,
    if(fcr_30d_eligible = 0, NULL, fcr_30d_resolved / fcr_30d_eligible) AS fcr_30d
FROM
(
    SELECT
        tenant, queue, channel, close_day, fcr_eligible, fcr_resolved,
        toDate(fromUnixTimestamp64Micro(
            ifNull((SELECT toUnixTimestamp64Micro(max(ts)) FROM events), 0), 'UTC'),
            {zone:String}) AS today
    FROM fcr_by_close_day(zone = {zone:String})
)
WHERE close_day > today - 30
GROUP BY tenant, queue, channel;
