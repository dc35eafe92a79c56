"""Settings: one typed tree, read once from a YAML file and `CCPIPE_*` variables, passed down.

Precedence: built-in defaults < YAML file (`--config`, or `CCPIPE_CONFIG`) < environment <
command-line flags. Every top-level scalar setting `name` can be set by `CCPIPE_<NAME>` (e.g.
`CCPIPE_STORE`, `CCPIPE_BROKER`). Per-queue settings, tenants and targets live in the file
only. The tree is msgspec structs: types, ranges, choices and unknown keys are checked by
msgspec as it reads; what is checked by hand is below `load_settings`. A bad value is
reported with the file (or variable, or flag), the key and the value (pipeline/config_reader.py).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import yaml
from msgspec import Meta

from pipeline.config_reader import AtLeastOne, ConfigError, Day, KeyPath, convert, versions_of
from pipeline.core.catalogue import (
    DEFAULT_HEADLINE,
    SERVICE_LEVEL,
    ServiceLevel,
    ServiceLevelVariant,
)
from pipeline.core.clock import day_start_us, seconds_to_us
from pipeline.core.events import Channel
from pipeline.core.thresholds import (
    DEFAULT_FCR_WINDOW_S,
    DEFAULT_SHORT_ABANDON_S,
    DEFAULT_SL_THRESHOLD_S,
    QueueConfig,
)
from pipeline.targets import Targets, check_targets

Seconds = Annotated[float, Meta(ge=0, description="expected a number of seconds >= 0")]
# One number for every channel, or a map per channel with `default` for the rest.
PerChannelSeconds = Seconds | dict[Literal[Channel, "default"], Seconds]
Count = Annotated[int, Meta(ge=0)]
Port = Annotated[int, Meta(ge=0, le=65535)]
Positive = Annotated[float, Meta(gt=0, description="expected a number > 0")]


class QueueOverrides(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One version of a queue's definitions, as the file says it (None: not set here).

    A queue's entry is one version, or a list of them, oldest first, each applying from its
    `effective_from` date (local midnight in the tenant's time zone; none: from the start).
    What a version sets replaces the earlier value from that date on, per channel for a map
    per channel; what it leaves unset keeps the earlier version's value, then the contract's
    default."""

    sl_threshold_s: PerChannelSeconds | None = None
    short_abandon_s: PerChannelSeconds | None = None
    fcr_window_s: Seconds | None = None
    # Which service-level variant is the queue's own (docs/kpis.md); None: `contract`.
    headline_service_level: ServiceLevelVariant | None = None
    effective_from: Day | None = None


# One version for all time, or a list of versions, oldest first.
QueueVersions = QueueOverrides | list[QueueOverrides]


class TenantSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    timezone: str | None = None  # None: the top-level `timezone`
    queues: dict[str, QueueVersions] = {}  # over the top-level `queues`, for this tenant


class Settings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    # Where things are.
    broker: str = "localhost:9092"
    store: str = "chdb://./.ccpipe/store"
    state_dir: str = ".ccpipe/state"
    web_host: str = "127.0.0.1"
    web_port: Port = 6066
    # `ccpipe wallboard`: the whole centre's wallboard alone (no worker), on this port.
    wallboard_port: Port = 6068
    # Topics.
    events_topic: str = "cc.events"
    dlq_topic: str = "cc.events.dlq"
    intervals_topic: str = "cc.kpi.intervals"
    segments_topic: str = "cc.segments"
    # The whole centre's live view: each worker publishes the live state of the partitions it
    # owns here (compacted, keyed by source partition) and every wallboard merges it.
    live_topic: str = "cc.live"
    partitions: AtLeastOne = 4
    app_id: str = "ccpipe"
    # Stream batching: Kafka messages per batch, and how long to wait to fill one. Coalescing
    # is where the throughput comes from (a touched key is written once per batch): with a
    # 50 ms wait a backlog was read 1.7 messages at a time; 250 ms bounds the added latency.
    batch_messages: AtLeastOne = 1000
    batch_wait_ms: Count = 250
    # Consumer-group session: how long a dead worker keeps its partitions. Faust's 60 s default
    # stalls those partitions a minute after a crash; Kafka's minimum is 6 s. Heartbeats go
    # every fifth of it.
    broker_session_timeout_s: Count = 10
    # Static group membership (Kafka's group.instance.id, KIP-345) for the stream worker: one
    # restarted with the same id within the session timeout takes its partitions back with no
    # rebalance, so the other workers go on undisturbed. Unique per worker process (a
    # StatefulSet pod's name, a host name); empty: a new member at every start.
    worker_instance_id: str = ""
    # Compression of what the worker produces (lz4 with the `lz4` extra). Off: on one machine
    # lz4 cost the worker 18 % more CPU and gained no throughput (benchmarks.md).
    compression: Literal["none", "gzip", "lz4"] = "none"
    # The sink: rows per insert, seconds between inserts, its /metrics port, and the port of
    # its read-only SQL endpoint when it owns a chdb store (0: any free loopback port).
    sink_batch_rows: AtLeastOne = 5000
    sink_batch_seconds: Seconds = 1.0
    sink_metrics_port: Port = 6067
    sink_sql_port: Port = 0
    # Ingest (docs/ingest.md): the input topic of single events or platform records, its
    # consumer group, the compacted topic of the converters' pairing state, how long a
    # partial batch waits for more events, and its /metrics port.
    ingest_topic: str = "cc.input"
    ingest_group: str = "ccpipe-ingest"
    ingest_state_topic: str = "ccpipe-ingest-state"
    ingest_linger_ms: Count = 50
    ingest_metrics_port: Port = 6069
    # TaskRouter callbacks (`ccpipe ingest --http`): port, the public URL Twilio calls when a
    # proxy stands in front (signatures cover it; empty: the request's own), largest body,
    # and a file holding the auth token (else CCPIPE_TWILIO_AUTH_TOKEN).
    webhook_port: Port = 8088
    webhook_url: str = ""
    webhook_max_body_bytes: AtLeastOne = 65536
    twilio_auth_token_file: str = ""
    # The tenant's time zone for "today" (per tenant in `tenants`, this is the fallback).
    timezone: str = "UTC"
    # Live view: a source partition's state is published at most this often after a change,
    # and at least this often without one (so a silent partition still shows its owner
    # lives); a wallboard marks a partition stale after `live_stale_after_s` without news.
    live_publish_interval_ms: AtLeastOne = 250
    live_heartbeat_s: Positive = 5.0
    live_stale_after_s: Positive = 30.0
    # The stream's allowed lateness (docs/stream.md, "Retention"): an interval's figures are
    # final this long after it ends, by the newest event time of the partition. A contact
    # event for an older interval is dead-lettered as too late, and the worker forgets the
    # contacts held only for closed intervals: what bounds its state and its restarts.
    # `ccpipe kpis` and the store's SQL count every event.
    allowed_lateness_s: Positive = 8 * 86400.0
    # A contact waiting longer than this is stale (a record whose end never came): shown
    # apart, never waiting and never the longest wait (docs/live.md).
    max_wait_s: Positive = 86400.0
    # Per-agent Prometheus series cost one series per agent and state: opt in.
    per_agent_metrics: bool = False
    queues: dict[str, QueueVersions] = {}
    tenants: dict[str, TenantSettings] = {}
    targets: Targets = Targets()
    # Where the values were read from, for messages; not a key of the file.
    source: str = msgspec.field(default="defaults", name="$source")

    def queue(self, tenant: str, queue: str, channel: str, at_us: int | None = None) -> QueueConfig:
        """The queue's thresholds on `channel` in force at `at_us` (the core passes the start
        of a segment's interval, so one interval is computed with one version), with the name
        of the version they come from; None: from the latest version on (for tools without a
        time: the simulator, staffing)."""
        versions = self.queue_versions(tenant, queue, at_us)
        sl_s = _layered(versions, "sl_threshold_s", channel, DEFAULT_SL_THRESHOLD_S.get(channel, 0))
        short_s = _layered(
            versions, "short_abandon_s", channel, DEFAULT_SHORT_ABANDON_S.get(channel, 0)
        )
        fcr_s = _layered(versions, "fcr_window_s", channel, DEFAULT_FCR_WINDOW_S)
        sl_us, short_us, fcr_us = seconds_to_us(sl_s), seconds_to_us(short_s), seconds_to_us(fcr_s)
        return QueueConfig(
            sl_us, short_us, fcr_us, _version_name(versions, sl_us, short_us, fcr_us)
        )

    def headline_service_level(
        self, tenant: str, queue: str, at_us: int | None = None
    ) -> ServiceLevel:
        """The service-level variant the queue calls its own at `at_us` (None: the latest)."""
        versions = self.queue_versions(tenant, queue, at_us)
        named = next(
            (v.headline_service_level for v in reversed(versions) if v.headline_service_level),
            DEFAULT_HEADLINE,
        )
        return SERVICE_LEVEL[named]

    def queue_versions(
        self, tenant: str, queue: str, at_us: int | None = None
    ) -> list[QueueOverrides]:
        """The queue's versions in force at `at_us`, oldest first (None: all of them)."""
        versions = versions_of(self._overrides(tenant, queue))
        if at_us is None:
            return versions
        zone = self.tenant_timezone(tenant)
        return [
            v
            for v in versions
            if v.effective_from is None or day_start_us(v.effective_from, zone) <= at_us
        ]

    def tenant_timezone(self, tenant: str) -> ZoneInfo:
        own = self.tenants.get(tenant)
        return ZoneInfo(self.timezone if own is None or own.timezone is None else own.timezone)

    def _overrides(self, tenant: str, queue: str) -> QueueVersions:
        own = self.tenants.get(tenant)
        if own is not None and queue in own.queues:
            return own.queues[queue]
        return self.queues.get(queue, _NO_OVERRIDES)


_NO_OVERRIDES = QueueOverrides()
# What `CCPIPE_<NAME>` and command-line flags may set.
_SCALARS = tuple(
    f.name
    for f in msgspec.structs.fields(Settings)
    if f.name not in ("queues", "tenants", "targets", "source")
)


def _layered(versions: Sequence[QueueOverrides], field: str, channel: str, default: float) -> float:
    """A field's value on `channel`: the latest version that sets it for that channel (a
    number, or a map naming the channel or a `default`), else the contract's `default`."""
    for version in reversed(versions):
        value = getattr(version, field)
        if isinstance(value, Mapping):
            value = value.get(channel, value.get("default"))
        if value is not None:
            return float(value)
    return default


def _version_name(versions: Sequence[QueueOverrides], *values_us: int) -> str:
    """`2026-11-25#1f0c6a2e`: the date the latest version in force applies from (`base`
    before any dated one), and a digest of the values it gives, so that a version edited in
    place has another name than the rows computed before the edit."""
    dated = [v.effective_from for v in versions if v.effective_from is not None]
    since = dated[-1].isoformat() if dated else "base"
    digest = hashlib.sha256("/".join(map(str, values_us)).encode()).hexdigest()[:8]
    return f"{since}#{digest}"


def load_settings(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    flags: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Read the settings once. `overrides` (from CLI flags) win over file and environment;
    `flags` names the command's flag of a setting whose flag is not `--<setting-name>`, so an
    error names what the user typed."""
    env = os.environ if env is None else env
    path = path or env.get("CCPIPE_CONFIG") or None
    settings = Settings()
    if path:
        source = str(path)
        data = _fold_queue_targets(_read_yaml(Path(path)), source)
        settings = _checked(convert(data, Settings, KeyPath(source)), source)
        settings = msgspec.structs.replace(settings, source=source)
    # Each variable and flag is read alone, so an error names it; strings become numbers.
    layers = [
        (f"environment variable {variable}", name, env[variable])
        for name in _SCALARS
        if (variable := f"CCPIPE_{name.upper()}") in env
    ]
    layers += [
        (f"option {(flags or {}).get(name, '--' + name.replace('_', '-'))}", name, value)
        for name, value in overrides.items()
        if value is not None
    ]
    changes = {}
    for source, name, value in layers:
        layer = _checked(convert({name: value}, Settings, KeyPath(source), strict=False), source)
        changes[name] = getattr(layer, name)
    return msgspec.structs.replace(settings, **changes)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except ValueError as exc:  # YAML's own date, such as `2026-13-01`, out of range
        raise ConfigError(f"{path}: not a valid date: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings")
    return data


# --- what msgspec cannot check ---------------------------------------------------------------


def _fold_queue_targets(data: dict[str, Any], source: str) -> dict[str, Any]:
    """The file with each queue entry's own `targets:` moved to the same place under the
    `targets` section (`queues.q.targets` to `targets.queues.q`, `tenants.t.queues.q.targets`
    to `targets.tenants.t.queues.q`), where it is read and named like the rest.

    A queue's targets set in both places is an error. Shapes that are not mappings are left
    for msgspec to report."""
    section = data.get("targets")
    section = {} if section is None else section
    if not isinstance(section, dict):
        return data
    for keys, entry in list(_queue_entries(data)):
        node = section
        for key in keys[:-1]:
            if node.get(key) is None:
                node[key] = {}
            node = node[key]
            if not isinstance(node, dict):
                break
        else:
            if keys[-1] in node:
                raise ConfigError(
                    f"{KeyPath(source, (*keys, 'targets'))}: the queue's targets are also set "
                    f"at `targets.{'.'.join(keys)}`; keep one"
                )
            node[keys[-1]] = entry.pop("targets")
    return {**data, "targets": section}


def _queue_entries(data: Mapping[str, Any]) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """(keys, entry) of every queue entry of the file that holds `targets`."""
    places: list[tuple[tuple[str, ...], Any]] = [(("queues",), data.get("queues"))]
    tenants = data.get("tenants")
    if isinstance(tenants, dict):
        places += [
            (("tenants", str(tenant), "queues"), spec.get("queues"))
            for tenant, spec in tenants.items()
            if isinstance(spec, dict)
        ]
    for keys, queues in places:
        if isinstance(queues, dict):
            for queue, entry in queues.items():
                if isinstance(entry, dict) and "targets" in entry:
                    yield (*keys, str(queue)), entry


def _checked(settings: Settings, source: str) -> Settings:
    """`settings` once its time zones exist and its targets hold together."""
    where = KeyPath(source)
    zones = [(where / "timezone", settings.timezone)]
    zones += [
        (where / "tenants" / tenant / "timezone", own.timezone)
        for tenant, own in settings.tenants.items()
        if own.timezone is not None
    ]
    for here, name in zones:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{here}: unknown time zone {name!r}") from None
    check_targets(settings.targets, where / "targets")
    return settings
