-- Each segment's latest state with what the KPIs need of it, under the queue's stored
-- configuration: one row per segment, the base of the interval report and of the
-- analyst queries (FCR by agent, AHT by agent, abandon waits...).
--
-- FCR looks across segments: for each handled segment with a customer,
-- `next_other_offer_us` is the earliest offer of a *different* contact of the same tenant
-- and customer strictly after this one (NULL when there is none). That does not depend on
-- the FCR window, so any window can be tried on it. The watermark is the largest event
-- time stored (`events`), as in the stream: a segment's window is closed once the
-- watermark is past offered + window.
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
