-- Agents' time per state per 15-minute interval, from `agent_states`, as the core's
-- `pipeline/core/agents.interval_seconds` counts it (tests/store hold the two equal):
-- each state lasts from its change until the agent's next change in the same tenant (in
-- (ts, event_id) order), the last one until the watermark, the largest event time stored
-- (`events`), as in the stream. A span is cut at the intervals' edges (UTC epoch, 15
-- minutes). Times are Int64 microseconds, as in `segments`.
--
-- `agent_state_intervals` has a row per (tenant, agent, queue, interval): queue '' is the
-- agent's whole time, and each queue the agent listed in a state gets that state's time
-- too (an agent serving several queues counts in each). `queue_state_intervals` sums the
-- agents per (tenant, queue, interval). Occupancy (catalogue `OCCUPANCY`, docs/kpis.md) is
-- (busy + acw) / (busy + acw + available), ONE division, NULL when that is 0; over hours or
-- days, sum the state columns before dividing.
CREATE OR REPLACE VIEW agent_state_intervals AS
SELECT
    tenant,
    agent_id,
    queue,
    fromUnixTimestamp64Micro(interval_us, 'UTC') AS interval_start,
    toInt64(sumIf(piece_us, state = 'available')) AS available_us,
    toInt64(sumIf(piece_us, state = 'busy')) AS busy_us,
    toInt64(sumIf(piece_us, state = 'acw')) AS acw_us,
    toInt64(sumIf(piece_us, state = 'away')) AS away_us,
    toInt64(sumIf(piece_us, state = 'offline')) AS offline_us,
    if(busy_us + acw_us + available_us = 0, NULL,
       (busy_us + acw_us) / (busy_us + acw_us + available_us)) AS occupancy
FROM
(
    SELECT
        tenant,
        agent_id,
        state,
        arrayJoin(arrayConcat([''], arrayDistinct(CAST(queues, 'Array(String)')))) AS queue,
        interval_us,
        least(end_us, interval_us + 900000000) - greatest(start_us, interval_us) AS piece_us
    FROM
    (
        SELECT
            tenant,
            agent_id,
            state,
            queues,
            toUnixTimestamp64Micro(ts) AS start_us,
            leadInFrame(toUnixTimestamp64Micro(ts), 1, watermark_us) OVER (
                PARTITION BY tenant, agent_id ORDER BY ts, event_id
                ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING) AS end_us
        FROM
        (
            SELECT tenant, agent_id, ts, state, queues, event_id,
                   ifNull((SELECT toUnixTimestamp64Micro(max(ts)) FROM events), 0) AS watermark_us
            FROM agent_states FINAL
        )
    )
    ARRAY JOIN range(start_us - start_us % 900000000, end_us, 900000000) AS interval_us
    WHERE end_us > start_us
)
GROUP BY tenant, agent_id, queue, interval_us;

CREATE OR REPLACE VIEW queue_state_intervals AS
SELECT
    tenant,
    queue,
    interval_start,
    toInt64(count()) AS agents,
    toInt64(sum(available_us)) AS available_us,
    toInt64(sum(busy_us)) AS busy_us,
    toInt64(sum(acw_us)) AS acw_us,
    toInt64(sum(away_us)) AS away_us,
    toInt64(sum(offline_us)) AS offline_us,
    if(busy_us + acw_us + available_us = 0, NULL,
       (busy_us + acw_us) / (busy_us + acw_us + available_us)) AS occupancy
FROM agent_state_intervals
WHERE queue != ''
GROUP BY tenant, queue, interval_start;
