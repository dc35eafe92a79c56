"""The one catalogue of ccpipe's KPIs, Prometheus metrics, recording rules and checks, as data.

Every place that computes, names, records, draws or judges a KPI reads it from here:

- `core/intervals.report_row` computes each KPI of the report from its terms, and
  `core/live` keeps the live ones over the rolling windows;
- `pipeline/stream/metrics.py` exports the counters and gauges named here;
- `pipeline/rules.py` records each KPI as one division of summed rates, and alerts on CHECKS;
- `pipeline/kpi_sql.py` writes each KPI in ClickHouse SQL: the dashboards use it, and
  tests/store checks the report views of pipeline/store/schema/ against it;
- `pipeline/grafana/dashboards/` and `pipeline/wallboard/` draw and judge the KPIs with the
  names, units, directions, checks and colour bands below.

A KPI is a ratio of two sums of interval counts (COUNT_FIELDS of core/intervals.py; a term
starting with `-` is subtracted), so partial states merge before anything is divided, and each
implementation divides once. Adding a KPI: docs/kpis.md, "Adding a KPI".

Data only: no Prometheus, ClickHouse or Grafana import; the core imports this, never the reverse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, NamedTuple

from pipeline.core.clock import US_PER_S

Unit = Literal["ratio", "seconds", "score"]
RATIO: Unit = "ratio"  # a fraction in [0, 1]
SECONDS: Unit = "seconds"
SCORE: Unit = "score"  # NPS, in [-100, 100]

# --- the interval counts, as formulas and metrics name them --------------------------------


@dataclass(frozen=True, slots=True)
class Count:
    """One interval count (a COUNT_FIELDS name), how a formula names it, and its counter."""

    field: str
    term: str  # the count in a formula's words: "answered within threshold"
    counter: str | None = None  # the Prometheus counter (as scraped) that exports it, if any
    help: str = ""
    # Kept over the live rolling windows. FCR is counted by another owner over a window of
    # days, so it is an interval figure only.
    live: bool = True

    @property
    def scale(self) -> float:
        """Factor to base units: sums in microseconds are exported in seconds."""
        return 1 / US_PER_S if self.field.endswith("_us") else 1.0


COUNTS: tuple[Count, ...] = (
    Count("offered", "offered", "ccpipe_contacts_offered_total", "Segments offered to a queue."),
    Count("answered", "answered", "ccpipe_contacts_answered_total", "Offered segments answered."),
    Count("abandoned", "abandoned", "ccpipe_contacts_abandoned_total",
          "Abandoned after the short-abandon threshold."),
    Count("short_abandoned", "short-abandoned", "ccpipe_contacts_short_abandoned_total",
          "Abandoned before the short-abandon threshold."),
    Count("answered_within_sl", "answered within threshold",
          "ccpipe_contacts_answered_within_sl_total",
          "Answered within the queue's service-level threshold."),
    Count("wait_answered_sum_us", "sum of answered waits", "ccpipe_answer_wait_seconds_total",
          "Sum of waits of answered segments (for ASA)."),
    Count("max_wait_us", "longest wait of the answered or abandoned"),
    Count("handled", "handled", "ccpipe_contacts_handled_total", "Segments with contact.ended."),
    Count("handle_sum_us", "sum of handle times", "ccpipe_handle_seconds_total",
          "Sum of talk + hold + after-contact work of handled segments (for AHT)."),
    Count("transferred", "transferred", "ccpipe_contacts_transferred_total",
          "Segments transferred."),
    Count("fcr_eligible", "FCR-eligible", "ccpipe_fcr_eligible_total",
          "Handled segments with a customer whose FCR window has closed.", live=False),
    Count("fcr_resolved", "resolved at first contact", "ccpipe_fcr_resolved_total",
          "FCR-eligible segments resolved.", live=False),
    Count("fcr_pending", "FCR pending", live=False),
    Count("csat_responses", "CSAT responses", "ccpipe_csat_responses_total",
          "Survey responses with a CSAT score."),
    Count("csat_good", "CSAT 4 or 5", "ccpipe_csat_satisfied_total", "CSAT responses of 4 or 5."),
    Count("nps_responses", "NPS responses", "ccpipe_nps_responses_total",
          "Survey responses with an NPS score."),
    Count("nps_promoters", "promoters", "ccpipe_nps_promoters_total", "NPS responses of 9 or 10."),
    Count("nps_detractors", "detractors", "ccpipe_nps_detractors_total",
          "NPS responses of 0 to 6."),
    Count("wait_abandoned_sum_us", "sum of abandoned waits", "ccpipe_abandon_wait_seconds_total",
          "Sum of waits of abandoned segments, short abandons included (for patience)."),
    # Short abandons included: Connect's service level counts every contact that left the
    # queue within the threshold. After the others, so that older count vectors line up.
    Count("abandoned_within_sl", "abandoned within threshold",
          "ccpipe_contacts_abandoned_within_sl_total",
          "Abandoned (short abandons included) within the queue's service-level threshold."),
)  # fmt: skip
COUNT = {count.field: count for count in COUNTS}

# --- the KPIs of the report -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Kpi:
    """A KPI of the contract's report: `scale * sum(numerator) / (sum(denominator) * divisor)`,
    null when the divisor is 0.

    A KPI without a denominator is a largest value (its count merges by max), in base units,
    null while none was seen (the count is negative then).
    """

    name: str  # the report's field
    label: str  # for people: panel titles, alert text
    short: str  # on a wallboard tile: "SL 15 min"
    numerator: tuple[str, ...]
    denominator: tuple[str, ...]
    unit: Unit
    higher_is_better: bool
    stem: str | None = None  # the recording rules' metric: `level:<stem>:<operation>`
    scale: int = 1  # on the numerator: NPS is a score out of 100
    live: bool = True  # also over the live rolling windows (15m, 60m, today)
    # One of the contract's live (wallboard) figures: exported per window as gauges of its
    # terms and of itself, and recorded summed over workers.
    wallboard: bool = False

    @property
    def divisor(self) -> int:
        """Seconds KPIs divide microsecond sums: the factor goes on the denominator, so the
        KPI stays ONE division of two integers (Python and ClickHouse round it alike)."""
        return US_PER_S if self.unit == SECONDS else 1

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(term.lstrip("-") for term in (*self.numerator, *self.denominator))

    @property
    def formula(self) -> str:
        """One line for a tooltip: "answered within threshold / (answered + abandoned)"."""
        top = join_terms(self.numerator, lambda field: COUNT[field].term)
        if not self.denominator:
            return top
        if len(self.numerator) > 1:
            top = f"({top})"
        if self.scale != 1:
            top = f"{self.scale} * {top}"
        bottom = join_terms(self.denominator, lambda field: COUNT[field].term)
        return f"{top} / ({bottom})" if len(self.denominator) > 1 else f"{top} / {bottom}"


KPIS: tuple[Kpi, ...] = (
    Kpi("service_level", "Service level", "SL", ("answered_within_sl",),
        ("answered", "abandoned"), RATIO, True, "ccpipe_service_level", wallboard=True),
    Kpi("asa_s", "Average speed of answer", "ASA", ("wait_answered_sum_us",), ("answered",),
        SECONDS, False, "ccpipe_answer_wait_seconds", wallboard=True),
    Kpi("max_wait_s", "Maximum wait", "Max wait", ("max_wait_us",), (), SECONDS, False),
    Kpi("abandon_rate", "Abandon rate", "Abandoned", ("abandoned",),
        ("offered", "-short_abandoned"), RATIO, False, "ccpipe_abandon", wallboard=True),
    Kpi("response_rate", "Response rate", "Answered", ("answered",), ("offered",), RATIO, True,
        "ccpipe_response"),
    Kpi("aht_s", "Average handle time", "AHT", ("handle_sum_us",), ("handled",), SECONDS, False,
        "ccpipe_handle_seconds", wallboard=True),
    Kpi("transfer_rate", "Transfer rate", "Transferred", ("transferred",), ("answered",), RATIO,
        False, "ccpipe_transfer"),
    Kpi("fcr_rate", "First-contact resolution", "FCR", ("fcr_resolved",), ("fcr_eligible",),
        RATIO, True, "ccpipe_fcr", live=False),
    Kpi("csat", "Customer satisfaction", "CSAT", ("csat_good",), ("csat_responses",), RATIO,
        True, "ccpipe_csat"),
    Kpi("nps", "Net promoter score", "NPS", ("nps_promoters", "-nps_detractors"),
        ("nps_responses",), SCORE, True, "ccpipe_nps", scale=100),
    # The other service-level variants (docs/kpis.md, "Service level, three ways").
    Kpi("service_level_connect", "Service level (Connect)", "SL Connect",
        ("answered_within_sl", "abandoned_within_sl"), ("offered",), RATIO, True,
        "ccpipe_service_level_connect"),
    Kpi("service_level_answered", "Service level (answered only)", "SL answered",
        ("answered_within_sl",), ("answered",), RATIO, True, "ccpipe_service_level_answered"),
)  # fmt: skip
KPI = {kpi.name: kpi for kpi in KPIS}
# Recorded over counter rates by pipeline/rules.py (a largest value has no counter).
RECORDED_KPIS: tuple[Kpi, ...] = tuple(kpi for kpi in KPIS if kpi.stem is not None)
WALLBOARD_KPIS: tuple[Kpi, ...] = tuple(kpi for kpi in KPIS if kpi.wallboard)


# The names of the service-level variants below, as the settings spell them (a test holds the
# two in step).
ServiceLevelVariant = Literal["contract", "connect", "answered"]


@dataclass(frozen=True, slots=True)
class ServiceLevel:
    """One way of counting service level: the name a queue's `headline_service_level` setting
    gives it, the KPI that computes it, and one line on whom it counts (for docs and tooltips).

    Each is a ratio of interval counts, so every variant rolls up over intervals, days and
    queues as sums of numerators over sums of denominators."""

    variant: ServiceLevelVariant
    kpi: Kpi
    description: str


SERVICE_LEVELS: tuple[ServiceLevel, ...] = (
    ServiceLevel("contract", KPI["service_level"],
                 "answered within the threshold, over answered plus abandoned after the "
                 "short-abandon limit (short abandons and overflows left out)"),
    ServiceLevel("connect", KPI["service_level_connect"],
                 "contacts that left the queue within the threshold, answered or abandoned "
                 "(short abandons included), over every contact queued"),
    ServiceLevel("answered", KPI["service_level_answered"],
                 "answered within the threshold, over answered (abandons left out)"),
)  # fmt: skip
SERVICE_LEVEL = {level.variant: level for level in SERVICE_LEVELS}
# A queue's headline service level unless its settings name another variant.
DEFAULT_HEADLINE: ServiceLevelVariant = "contract"
# (tenant, queue, at_us) -> the variant the queue calls its own at that time
# (`Settings.headline_service_level`).
HeadlineLookup = Callable[[str, str, int], ServiceLevel]


def join_terms(terms: tuple[str, ...], render: Callable[[str], str]) -> str:
    """`a + b - c` from the terms ("-c" subtracts), each rendered by `render(field)`."""
    text = ""
    for term in terms:
        part = render(term.lstrip("-"))
        if not text:
            text = f"-{part}" if term.startswith("-") else part
        else:
            text += f" - {part}" if term.startswith("-") else f" + {part}"
    return text


# Labels of the live rolling windows (core/live.py WINDOW_NAMES), for titles and tiles.
WINDOW_LABELS: dict[str, str] = {
    "15m": "15 min",
    "60m": "60 min",
    "today": "today",
    "7d": "7 days",
}
# How each live window is defined, for the figures that explain themselves.
WINDOW_TEXT: dict[str, str] = {
    "15m": "contacts offered in the last 15 minutes (whole minutes of event time)",
    "60m": "contacts offered in the last 60 minutes (whole minutes of event time)",
    "today": "contacts offered since midnight in the tenant's time zone",
    "7d": "contacts offered today and on the six days before it (tenant's time zone)",
}

# --- waiting contacts by age, occupancy, live FCR ----------------------------------------------

# The edges of the wallboard's age bands, in seconds: under 20 s, 20-60 s, 1-2 min, 2-5 min,
# over 5 min. A contact waiting exactly on an edge is in the older band.
AGE_BAND_EDGES_S: tuple[int, ...] = (20, 60, 120, 300)
AGE_BAND_LABELS: tuple[str, ...] = ("< 20 s", "20-60 s", "1-2 min", "2-5 min", "> 5 min")


@dataclass(frozen=True, slots=True)
class StateRatio:
    """A ratio of an agent's (or a queue's agents') time in some states to others."""

    name: str
    label: str
    numerator: tuple[str, ...]  # agent states
    denominator: tuple[str, ...]

    @property
    def formula(self) -> str:
        return f"time {' + '.join(self.numerator)} / time {' + '.join(self.denominator)}"


# Occupancy: the share of the time an agent was handling work (away and offline do not count).
# Per queue, an agent serving several queues counts in each.
OCCUPANCY = StateRatio("occupancy", "Occupancy", ("busy", "acw"), ("busy", "acw", "available"))


@dataclass(frozen=True, slots=True)
class LiveFcr:
    """A first-contact-resolution figure of the wallboard, over the FCR facts of a window."""

    name: str
    label: str
    formula: str
    days: int  # 0: today's provisional figure

    @property
    def window(self) -> str:
        """The `window` label of its Prometheus series: `7d`, `30d`, `today`."""
        return self.name.removeprefix("fcr_")


# The contract's FCR over the windows that closed recently, and today's provisional figure:
# of today's handled contacts with a customer, the share whose customer has not come back
# (another contact offered) within 24 hours so far, and whose wrap-up did not say unresolved.
FCR_LIVE: tuple[LiveFcr, ...] = (
    LiveFcr("fcr_7d", "FCR 7 days",
            "resolved / eligible, segments whose FCR window closed today or on the six days "
            "before it", 7),
    LiveFcr("fcr_30d", "FCR 30 days",
            "resolved / eligible, segments whose FCR window closed in the last 30 days", 30),
    LiveFcr("fcr_today", "FCR today (provisional)",
            "handled today with a customer, not come back within 24 h so far and not wrapped "
            "up unresolved / handled today with a customer", 0),
)  # fmt: skip
# A repeat counts when the same customer's next contact is offered within this long.
REPEAT_WINDOW_S = 24 * 3600

# --- Prometheus metrics ----------------------------------------------------------------------


class Metric(NamedTuple):
    """A metric as Prometheus scrapes it: counters end in `_total`."""

    name: str
    type: Literal["counter", "gauge", "histogram"]
    help: str
    labels: tuple[str, ...] = ()

    @property
    def family(self) -> str:
        """The name prometheus-client is given: it adds `_total` to a counter itself."""
        return self.name.removesuffix("_total") if self.type == "counter" else self.name


INTERVAL_LABELS = ("tenant", "queue", "channel", "partition")
WINDOW_GAUGE_LABELS = ("tenant", "queue", "window")

# Contact counters, per interval count exported: the total over the intervals a worker owns.
CONTACT_COUNTERS: dict[str, Metric] = {
    count.field: Metric(count.counter, "counter", count.help, INTERVAL_LABELS)
    for count in COUNTS
    if count.counter is not None
}


def _window_gauge(count: Count) -> Metric:
    assert count.counter is not None
    stem = count.counter.removeprefix("ccpipe_").removesuffix("_total")
    term = count.term[0].upper() + count.term[1:]
    return Metric(f"ccpipe_window_{stem}", "gauge", f"{term} in the window.",
                  WINDOW_GAUGE_LABELS)  # fmt: skip


# The wallboard KPIs' terms per live window: numerators and denominators add up across workers.
WINDOW_GAUGES: dict[str, Metric] = {
    count.field: _window_gauge(count)
    for count in COUNTS
    if any(count.field in kpi.terms for kpi in WALLBOARD_KPIS)
}


# No gauge of a ratio: a worker's own service level, ASA or AHT would depend on which worker
# was scraped. The whole centre's come from the recording rules over the gauges above.
QUEUE_WAITING = Metric(
    "ccpipe_queue_waiting_contacts",
    "gauge",
    "Contacts offered and not yet answered, abandoned or transferred (stale ones apart).",
    ("tenant", "queue"),
)
QUEUE_STALE = Metric(
    "ccpipe_queue_stale_contacts",
    "gauge",
    "Contacts waiting longer than max_wait_s: records whose end never came.",
    ("tenant", "queue"),
)
QUEUE_LONGEST_WAIT = Metric(
    "ccpipe_queue_longest_wait_seconds",
    "gauge",
    "Event time now minus the oldest waiting offer of this worker's partitions (0 when none "
    "waits); the queue's is the largest over workers.",
    ("tenant", "queue"),
)
AGENTS = Metric(
    "ccpipe_agents", "gauge", "Agents listing the queue, by state.", ("tenant", "queue", "state")
)
AGENT_STATE = Metric(
    "ccpipe_agent_state",
    "gauge",
    "1 for the agent's current state (opt-in: per_agent_metrics).",
    ("tenant", "agent", "state"),
)
AGENT_TIME = Metric(
    "ccpipe_window_agent_state_seconds",
    "gauge",
    "Time the queue's agents spent in each state in the window (an agent counts in every "
    "queue it listed then); occupancy divides sums of these.",
    ("tenant", "queue", "window", "state"),
)
# The live FCR figures' terms (catalogue FCR_LIVE, label `window` its `LiveFcr.window`): for
# 7d and 30d the segments whose FCR window closed then; for today, today's handled contacts
# with a customer and those not come back nor wrapped up unresolved so far.
FCR_WINDOW_ELIGIBLE = Metric(
    "ccpipe_window_fcr_eligible",
    "gauge",
    "FCR-eligible segments of the live FCR figure (today: handled with a customer).",
    WINDOW_GAUGE_LABELS,
)
FCR_WINDOW_RESOLVED = Metric(
    "ccpipe_window_fcr_resolved",
    "gauge",
    "Of those, resolved at first contact (today: so far).",
    WINDOW_GAUGE_LABELS,
)
EVENTS = Metric("ccpipe_events_total", "counter", "Events decoded from the events topic.")
EVENTS_DUPLICATE = Metric(
    "ccpipe_events_duplicate_total", "counter", "Events ignored as duplicates."
)
SEGMENT_ANOMALIES = Metric(
    "ccpipe_segment_anomalies_total",
    "counter",
    "Later events of a segment part already held (ignored).",
)
SEGMENTS_EXPIRED = Metric(
    "ccpipe_segments_expired_total",
    "counter",
    "Segments forgotten at the allowed lateness without ever being offered (never counted).",
)
DEAD_LETTERED = Metric(
    "ccpipe_events_dead_lettered_total",
    "counter",
    "Inputs sent to the dead-letter topic, by what was wrong.",
    ("reason",),
)
STATE_RESTORES = Metric(
    "ccpipe_state_restores_total",
    "counter",
    "Partition states a worker took on, by stage and how: rebuilt from the changelogs, or "
    "kept from before a rebalance that gave the partition back unchanged.",
    ("stage", "source"),
)
CONSUMER_LAG = Metric(
    "ccpipe_consumer_lag_messages",
    "gauge",
    "Messages in a partition not yet processed by this worker.",
    ("topic", "partition"),
)
WATERMARK = Metric(
    "ccpipe_event_time_watermark_seconds",
    "gauge",
    "Largest event time seen (the FCR and live-figure clock), as a Unix time.",
)
LIVE_PUBLICATIONS = Metric(
    "ccpipe_live_publications_total",
    "counter",
    "Publications of a partition's live state sent to the live topic.",
)
LIVE_PUBLICATION_BYTES = Metric(
    "ccpipe_live_publication_bytes_total",
    "counter",
    "Bytes of those publications (the live topic's traffic from this worker).",
)
EVENT_TO_METRIC = Metric(
    "ccpipe_event_to_metric_seconds",
    "histogram",
    "From a message's arrival in Kafka to the end of the batch that published its effect.",
)

# The worker's figures per queue (its `QueueCollector`; AGENT_STATE only when opted in).
WORKER_QUEUE_METRICS: tuple[Metric, ...] = (
    *CONTACT_COUNTERS.values(),
    QUEUE_WAITING,
    QUEUE_STALE,
    QUEUE_LONGEST_WAIT,
    AGENTS,
    *WINDOW_GAUGES.values(),
    AGENT_TIME,
    FCR_WINDOW_ELIGIBLE,
    FCR_WINDOW_RESOLVED,
    AGENT_STATE,
)
# The worker's own health (its `PipelineCollector`): cheap to read, so read often.
WORKER_HEALTH_METRICS: tuple[Metric, ...] = (
    EVENTS,
    EVENTS_DUPLICATE,
    SEGMENT_ANOMALIES,
    SEGMENTS_EXPIRED,
    DEAD_LETTERED,
    STATE_RESTORES,
    CONSUMER_LAG,
    WATERMARK,
    LIVE_PUBLICATIONS,
    LIVE_PUBLICATION_BYTES,
)
WORKER_METRICS: tuple[Metric, ...] = (
    *WORKER_QUEUE_METRICS,
    *WORKER_HEALTH_METRICS,
    EVENT_TO_METRIC,
)

# What reads the live topic (every worker, and `ccpipe wallboard`) says of its view.
LIVE_MESSAGES = Metric(
    "ccpipe_live_messages_total",
    "counter",
    "Messages read from the live topic, by outcome: applied, old (a lower version: kept the "
    "newer state), bad (not a readable publication: skipped) or superseded (read on the way "
    "in with a later message of its key after it: skipped, as compaction would).",
    ("outcome",),
)
LIVE_PARTITIONS = Metric(
    "ccpipe_live_partitions",
    "gauge",
    "Partitions of the events topic in the live view, by state: fresh, stale (no publication "
    "for live_stale_after_s) or missing.",
    ("state",),
)
LIVE_OLDEST_UPDATE = Metric(
    "ccpipe_live_oldest_update_seconds",
    "gauge",
    "Age of the least recent publication in the live view (wall clock).",
)
# Live staffing advice (core/staffing.py) over the whole centre's view: every reader exports
# the same figures of the whole (not a share of them), so the rules take one reader's value
# (max or min), never a sum over readers.
STAFFING_REQUIRED = Metric(
    "ccpipe_staffing_required_agents",
    "gauge",
    "Agents a queue's channel needs on the floor now for its service-level target (Erlang A "
    "or C at the trailing rates).",
    ("tenant", "queue", "channel"),
)
STAFFING_STAFFED = Metric(
    "ccpipe_staffing_staffed_agents",
    "gauge",
    "Agents listing the queue and available, busy or in after-contact work (an agent listing "
    "several queues counts in each).",
    ("tenant", "queue"),
)
STAFFING_PROJECTED = Metric(
    "ccpipe_staffing_projected_service_level",
    "gauge",
    "Service level a channel's share of the staffed agents gives at the trailing rates.",
    ("tenant", "queue", "channel"),
)
STAFFING_TARGET = Metric(
    "ccpipe_staffing_target_service_level",
    "gauge",
    "The channel's service-level target the advice is for (a channel may have its own).",
    ("tenant", "queue", "channel"),
)
STAFFING_METRICS: tuple[Metric, ...] = (
    STAFFING_REQUIRED,
    STAFFING_STAFFED,
    STAFFING_PROJECTED,
    STAFFING_TARGET,
)
LIVE_VIEW_METRICS: tuple[Metric, ...] = (
    LIVE_MESSAGES,
    LIVE_PARTITIONS,
    LIVE_OLDEST_UPDATE,
    *STAFFING_METRICS,
)

# The sink's series (pipeline/sink/metrics.py declares them; a test holds the two equal).
SINK_ROWS_WRITTEN = Metric(
    "ccpipe_sink_rows_written_total",
    "counter",
    "Rows inserted into ClickHouse, per table (a replayed batch counts again).",
    ("table",),
)
SINK_BATCH_ROWS = Metric(
    "ccpipe_sink_batch_rows", "histogram", "Rows per INSERT, per table.", ("table",)
)
SINK_INSERT_SECONDS = Metric(
    "ccpipe_sink_insert_seconds",
    "histogram",
    "Time of one successful INSERT, per table.",
    ("table",),
)
SINK_INSERT_FAILURES = Metric(
    "ccpipe_sink_insert_failures_total",
    "counter",
    "Failed INSERTs, per table and kind: unavailable (retried) or refused (fatal).",
    ("table", "kind"),
)
SINK_STORE_UP = Metric(
    "ccpipe_sink_store_up",
    "gauge",
    "1 while ClickHouse takes the sink's inserts, 0 while it cannot be reached.",
)
SINK_PAUSED = Metric(
    "ccpipe_sink_paused",
    "gauge",
    "1 while consumption is paused because ClickHouse cannot take a batch.",
)
SINK_BUFFERED_ROWS = Metric(
    "ccpipe_sink_buffered_rows",
    "gauge",
    "Rows consumed but not yet written (bounded by the batch size).",
)
SINK_MESSAGES = Metric(
    "ccpipe_sink_messages_total", "counter", "Kafka messages consumed, per topic.", ("topic",)
)
SINK_COMMITS = Metric(
    "ccpipe_sink_commits_total",
    "counter",
    "Offset commits, each after every batch it covers was written.",
)
SINK_METRICS: tuple[Metric, ...] = (
    SINK_ROWS_WRITTEN,
    SINK_BATCH_ROWS,
    SINK_INSERT_SECONDS,
    SINK_INSERT_FAILURES,
    SINK_STORE_UP,
    SINK_PAUSED,
    SINK_BUFFERED_ROWS,
    SINK_MESSAGES,
    SINK_COMMITS,
)

# The ingest stage's series (pipeline/ingest/metrics.py makes them from these).
INGEST_RECORDS = Metric(
    "ccpipe_ingest_records_total", "counter", "Input records read (a replayed record counts again)."
)
INGEST_EVENTS = Metric(
    "ccpipe_ingest_events_total", "counter", "Valid v1 events produced to the events topic."
)
INGEST_DEAD_LETTERED = Metric(
    "ccpipe_ingest_dead_lettered_total",
    "counter",
    "Input records sent to the dead-letter topic, by what was wrong.",
    ("reason",),
)
INGEST_BATCH_EVENTS = Metric(
    "ccpipe_ingest_batch_events", "histogram", "Events per batch message produced."
)
INGEST_LAG = Metric(
    "ccpipe_ingest_consumer_lag_messages",
    "gauge",
    "Input records in a partition not yet read by this ingest process.",
    ("topic", "partition"),
)
INGEST_COMMITS = Metric(
    "ccpipe_ingest_commits_total",
    "counter",
    "Input offset commits, each after every batch and state it covers was acknowledged.",
)
INGEST_WEBHOOK_REQUESTS = Metric(
    "ccpipe_ingest_webhook_requests_total",
    "counter",
    "Webhook requests by outcome: accepted, bad_signature, too_large, bad_request, unavailable.",
    ("outcome",),
)
INGEST_METRICS: tuple[Metric, ...] = (
    INGEST_RECORDS,
    INGEST_EVENTS,
    INGEST_DEAD_LETTERED,
    INGEST_BATCH_EVENTS,
    INGEST_LAG,
    INGEST_COMMITS,
    INGEST_WEBHOOK_REQUESTS,
)

# The series a queue exists by: every (tenant, queue) with an interval has it.
QUEUE_SERIES = CONTACT_COUNTERS["offered"].name

# The scrape jobs of deploy/prometheus/prometheus.yml.
WORKER_JOB = "ccpipe-worker"
SINK_JOB = "ccpipe-sink"
INGEST_JOB = "ccpipe-ingest"

# --- recording rules: `level:metric:operations` ----------------------------------------------

# A level names the labels a rule keeps.
TENANT_QUEUE = "tenant_queue"
TENANT_QUEUE_CHANNEL = "tenant_queue_channel"
TENANT_QUEUE_STATE = "tenant_queue_state"
JOB = "job"
JOB_INSTANCE = "job_instance"
JOB_REASON = "job_reason"
JOB_TOPIC = "job_topic"


def rule_name(level: str, metric: str, operations: str) -> str:
    return f"{level}:{metric}:{operations}"


def rate_rule(field: str, window: str, level: str = TENANT_QUEUE) -> str:
    """A contact counter's summed rate: `tenant_queue:ccpipe_contacts_offered:rate5m`."""
    return rule_name(level, CONTACT_COUNTERS[field].family, f"rate{window}")


def kpi_rule(kpi: Kpi, window: str, level: str = TENANT_QUEUE) -> str:
    """A KPI over counter rates: `tenant_queue:ccpipe_service_level:ratio_rate15m`."""
    assert kpi.stem is not None, f"{kpi.name} is not recorded"
    operation = "mean" if kpi.unit == SECONDS else f"{kpi.unit}_rate"
    return rule_name(level, kpi.stem, f"{operation}{window}")


def window_kpi_rule(kpi: Kpi) -> str:
    """A wallboard KPI over the live windows, summed over workers (label `window`)."""
    assert kpi.stem is not None and kpi.wallboard, f"{kpi.name} is not a live figure"
    stem = kpi.stem.replace("ccpipe_", "ccpipe_window_", 1)
    return rule_name(TENANT_QUEUE, stem, "mean" if kpi.unit == SECONDS else kpi.unit)


# The fields a queue's targets set (pipeline/targets.py), and the unit of each target series.
TARGET_UNITS: dict[str, str] = {
    "service_level": KPI["service_level"].unit,
    "asa_s": KPI["asa_s"].unit,
    "abandon_rate": KPI["abandon_rate"].unit,
    "longest_wait_s": SECONDS,
    "min_volume": "contacts",
}


def target_rule(field: str) -> str:
    """A queue target as a series: `tenant_queue:ccpipe_target_asa:seconds`."""
    return rule_name(TENANT_QUEUE, f"ccpipe_target_{field.removesuffix('_s')}", TARGET_UNITS[field])


WINDOW_OFFERED_RULE = rule_name(TENANT_QUEUE, WINDOW_GAUGES["offered"].name, "sum")
QUEUE_WAITING_RULE = rule_name(TENANT_QUEUE, QUEUE_WAITING.name, "sum")
QUEUE_LONGEST_WAIT_RULE = rule_name(TENANT_QUEUE, QUEUE_LONGEST_WAIT.name, "max")
AGENTS_RULE = rule_name(TENANT_QUEUE_STATE, AGENTS.name, "sum")
AGENT_TIME_RULE = rule_name(TENANT_QUEUE_STATE, AGENT_TIME.name, "sum")
# Occupancy per queue and live window (label `window`), summed over workers, then divided.
OCCUPANCY_RULE = rule_name(TENANT_QUEUE, f"ccpipe_window_{OCCUPANCY.name}", RATIO)
# The live FCR figures per queue (label `window`: 7d, 30d, today), summed, then divided.
FCR_WINDOW_RULE = rule_name(TENANT_QUEUE, "ccpipe_window_fcr", KPI["fcr_rate"].unit)
EVENTS_RATE_RULE = rule_name(JOB, EVENTS.family, "rate5m")
DEAD_LETTERS_RATE_RULE = rule_name(JOB_REASON, DEAD_LETTERED.family, "rate5m")
DEAD_LETTERS_INCREASE_RULE = rule_name(JOB, DEAD_LETTERED.family, "increase15m")
DEAD_LETTERS_RATIO_RULE = rule_name(JOB, DEAD_LETTERED.family, "ratio_rate15m")
LAG_RULE = rule_name(JOB_TOPIC, CONSUMER_LAG.name, "sum")
LATENCY_P95_RULE = rule_name(JOB, EVENT_TO_METRIC.name, "p95_rate5m")
# Live staffing: one reader's figure (readers agree but for lag: the need at its largest, the
# staff and the projection at their smallest), then the queue's need summed over channels.
STAFFING_REQUIRED_CHANNEL_RULE = rule_name(TENANT_QUEUE_CHANNEL, STAFFING_REQUIRED.name, "max")
STAFFING_REQUIRED_RULE = rule_name(TENANT_QUEUE, STAFFING_REQUIRED.name, "sum")
STAFFING_STAFFED_RULE = rule_name(TENANT_QUEUE, STAFFING_STAFFED.name, "min")
STAFFING_PROJECTED_RULE = rule_name(TENANT_QUEUE_CHANNEL, STAFFING_PROJECTED.name, "min")
STAFFING_TARGET_RULE = rule_name(TENANT_QUEUE_CHANNEL, STAFFING_TARGET.name, "max")
# Agents short: the need over channels minus the staff (negative: to spare).
STAFFING_GAP_RULE = rule_name(TENANT_QUEUE, "ccpipe_staffing_gap_agents", "difference")
# 1 while a sink writes to ClickHouse; 0 while it cannot, or cannot be scraped.
SINK_WRITING_RULE = rule_name(JOB_INSTANCE, SINK_STORE_UP.name, "min")
# A worker's lag over every partition it owns (growing while its watermark stands: stuck).
WORKER_LAG_RULE = rule_name(JOB_INSTANCE, CONSUMER_LAG.name, "sum")
# Events partitions a live view (a worker's, `ccpipe wallboard`'s) shows stale or missing.
LIVE_NOT_FRESH_RULE = rule_name(JOB_INSTANCE, f"{LIVE_PARTITIONS.name}_not_fresh", "sum")

# --- checks: what the wallboard judges and the queue alerts watch ----------------------------

# A floor (service level) is "near" within this many points above it, a limit (ASA, abandon
# rate, longest wait) from this share of it: amber on the wallboards, "near" on the page.
NEAR_FLOOR_POINTS = 0.05
NEAR_LIMIT_SHARE = 0.8


@dataclass(frozen=True, slots=True)
class Check:
    """A wallboard figure judged against a queue target; `missed` is its alert's condition.

    `kpi` and `window` name what a KPI figure is (None for a gauge of now, longest wait);
    `alert` is the Prometheus alert watching the same thing (pipeline/rules.py), held for
    the `hold` duration of the `alerting` targets (an `Alerting` field).
    """

    figure: str
    target: str
    higher_is_better: bool
    needs_volume: bool  # a rate: judged only with `min_volume` answered + abandoned
    label: str
    kpi: str | None = None
    window: str | None = None
    alert: str = ""
    hold: str = ""

    @classmethod
    def of_kpi(cls, figure: str, kpi: Kpi, window: str, alert: str = "", hold: str = "") -> Check:
        label = f"{kpi.label.lower()} ({WINDOW_LABELS[window]})"
        return cls(figure, kpi.name, kpi.higher_is_better, True, label, kpi.name, window,
                   alert, hold)  # fmt: skip


CHECKS: tuple[Check, ...] = (
    Check.of_kpi("service_level_15m", KPI["service_level"], "15m",
                 "CcpipeServiceLevelBelowTarget", "breach_for_s"),
    Check.of_kpi("service_level_today", KPI["service_level"], "today"),
    Check.of_kpi("asa_s", KPI["asa_s"], "15m", "CcpipeAnswerDelayAboveLimit", "breach_for_s"),
    Check.of_kpi("abandon_rate", KPI["abandon_rate"], "15m", "CcpipeAbandonRateSpike",
                 "abandon_for_s"),
    Check("longest_wait_s", "longest_wait_s", False, False, "longest wait",
          alert="CcpipeLongestWaitAboveLimit", hold="longest_wait_for_s"),
)  # fmt: skip
ALERTED_CHECKS: tuple[Check, ...] = tuple(check for check in CHECKS if check.alert)

# --- the leading alerts of live staffing ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LeadingAlert:
    """An alert on live staffing advice (core/staffing.py): pipeline/rules.py writes it for
    Prometheus and the wallboard mirrors it, held for its `hold` duration of the `alerting`
    targets (an `Alerting` field)."""

    name: str
    figure: str  # what the wallboard's alert shows as its value
    label: str
    hold: str


STAFFING_GAP_ALERT = LeadingAlert(
    "CcpipeStaffingGap", "gap", "agents short of the need", "staffing_gap_for_s"
)
PROJECTED_BELOW_ALERT = LeadingAlert(
    "CcpipeProjectedServiceLevelBelowTarget",
    "projected_service_level",
    "projected service level",
    "projected_below_for_s",
)
LEADING_ALERTS: tuple[LeadingAlert, ...] = (STAFFING_GAP_ALERT, PROJECTED_BELOW_ALERT)
