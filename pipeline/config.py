"""Settings: one typed place, read once from a YAML file and `CCPIPE_*` variables, passed down.

Precedence: built-in defaults < YAML file (`--config`, or `CCPIPE_CONFIG`) < environment.
Every top-level scalar setting `name` can be set by `CCPIPE_<NAME>` (e.g. `CCPIPE_STORE`,
`CCPIPE_BROKER`). Per-queue settings live in the file only. A bad value is reported with the
file and the key that holds it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from pipeline.core.clock import US_PER_S

# Contract defaults per channel.
DEFAULT_SL_THRESHOLD_S: dict[str, float] = {
    "voice": 20,
    "chat": 60,
    "callback": 3600,
    "sms": 3600,
    "social": 3600,
    "email": 86400,
}
DEFAULT_SHORT_ABANDON_S: dict[str, float] = {"voice": 5}
DEFAULT_FCR_WINDOW_S = 604800

QUEUE_KEYS = ("sl_threshold_s", "short_abandon_s", "fcr_window_s")


class ConfigError(ValueError):
    """A setting that cannot be used, naming where it came from."""


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """A queue's thresholds for one channel, in integer microseconds."""

    sl_threshold_us: int
    short_abandon_us: int
    fcr_window_us: int


@dataclass(frozen=True, slots=True)
class QueueOverrides:
    """What the file says of one queue; a value may be one number or a map per channel."""

    sl_threshold_s: float | dict[str, float] | None = None
    short_abandon_s: float | dict[str, float] | None = None
    fcr_window_s: float | None = None


@dataclass(frozen=True)
class Settings:
    # Where things are.
    broker: str = "localhost:9092"
    store: str = "chdb://./.ccpipe/store"
    state_dir: str = ".ccpipe/state"
    web_host: str = "127.0.0.1"
    web_port: int = 6066
    # Topics.
    events_topic: str = "cc.events"
    dlq_topic: str = "cc.events.dlq"
    intervals_topic: str = "cc.kpi.intervals"
    segments_topic: str = "cc.segments"
    partitions: int = 4
    app_id: str = "ccpipe"
    # Stream batching: Kafka messages per batch, and how long to wait to fill one. Coalescing
    # is where the throughput comes from (a touched key is written once per batch): with a
    # 50 ms wait a backlog was read 1.7 messages at a time; 250 ms bounds the added latency.
    batch_messages: int = 1000
    batch_wait_ms: int = 250
    # Consumer-group session: how long a dead worker keeps its partitions. Faust's 60 s default
    # stalls those partitions a minute after a crash; Kafka's minimum is 6 s. Heartbeats go
    # every fifth of it.
    broker_session_timeout_s: int = 10
    # Compression of what the worker produces (none, gzip, lz4 with the `lz4` extra). Off: on
    # one machine lz4 cost the worker 18 % more CPU and gained no throughput (benchmarks.md).
    compression: str = "none"
    # Standby copies of other workers' tables: a failover without a changelog replay, but
    # every worker then reads every changelog too (twice the work per event, measured with
    # two workers on two cores, docs/benchmarks.md). Off by default; 1 for fast failover.
    standby_replicas: int = 0
    # The sink: rows per insert, seconds between inserts, its /metrics port, and the port of
    # its read-only SQL endpoint when it owns a chdb store (0: any free loopback port).
    sink_batch_rows: int = 5000
    sink_batch_seconds: float = 1.0
    sink_metrics_port: int = 6067
    sink_sql_port: int = 0
    # Ingest (docs/ingest.md): the input topic of single events or platform records, its
    # consumer group, the compacted topic of the converters' pairing state, how long a
    # partial batch waits for more events, and its /metrics port.
    ingest_topic: str = "cc.input"
    ingest_group: str = "ccpipe-ingest"
    ingest_state_topic: str = "ccpipe-ingest-state"
    ingest_linger_ms: int = 50
    ingest_metrics_port: int = 6069
    # TaskRouter callbacks (`ccpipe ingest --http`): port, the public URL Twilio calls when a
    # proxy stands in front (signatures cover it; empty: the request's own), largest body,
    # and a file holding the auth token (else CCPIPE_TWILIO_AUTH_TOKEN).
    webhook_port: int = 8088
    webhook_url: str = ""
    webhook_max_body_bytes: int = 65536
    twilio_auth_token_file: str = ""
    # The tenant's time zone for "today" (per tenant in `tenants`, this is the fallback).
    timezone: str = "UTC"
    # Per-agent Prometheus series cost one series per agent and state: opt in.
    per_agent_metrics: bool = False
    queues: Mapping[str, QueueOverrides] = field(default_factory=dict)
    tenants: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    targets: Mapping[str, Any] = field(default_factory=dict)
    source: str = "defaults"

    def queue(self, tenant: str, queue: str, channel: str) -> QueueConfig:
        overrides = self._overrides(tenant, queue)
        sl = _per_channel(overrides.sl_threshold_s, channel, DEFAULT_SL_THRESHOLD_S, 20)
        short = _per_channel(overrides.short_abandon_s, channel, DEFAULT_SHORT_ABANDON_S, 0)
        window = (
            overrides.fcr_window_s if overrides.fcr_window_s is not None else DEFAULT_FCR_WINDOW_S
        )
        return QueueConfig(
            sl_threshold_us=round(sl * US_PER_S),
            short_abandon_us=round(short * US_PER_S),
            fcr_window_us=round(window * US_PER_S),
        )

    def tenant_timezone(self, tenant: str) -> ZoneInfo:
        name = self.tenants.get(tenant, {}).get("timezone", self.timezone)
        return ZoneInfo(str(name))

    def _overrides(self, tenant: str, queue: str) -> QueueOverrides:
        per_tenant = self.tenants.get(tenant, {}).get("queues", {})
        if queue in per_tenant:
            return per_tenant[queue]  # type: ignore[no-any-return,unused-ignore]
        return self.queues.get(queue, _NO_OVERRIDES)


_NO_OVERRIDES = QueueOverrides()


def _per_channel(
    value: float | dict[str, float] | None,
    channel: str,
    defaults: Mapping[str, float],
    fallback: float,
) -> float:
    if isinstance(value, dict):
        if channel in value:
            return value[channel]
        value = value.get("default")
    if value is not None:
        return value
    return defaults.get(channel, fallback)


_SCALARS = {
    f.name: f
    for f in dataclasses.fields(Settings)
    if f.name not in ("queues", "tenants", "targets", "source")
}


def load_settings(
    path: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Read the settings once. `overrides` (from CLI flags) win over file and environment."""
    env = os.environ if env is None else env
    path = path or env.get("CCPIPE_CONFIG") or None
    raw: dict[str, Any] = {}
    source = "defaults"
    if path:
        raw = _read_yaml(Path(path))
        source = str(path)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _SCALARS:
            values[key] = _coerce(key, value, f"{source}: key `{key}`")
        elif key == "queues":
            values["queues"] = _queues(value, KeyPath(source, "queues"))
        elif key == "tenants":
            values["tenants"] = _tenants(value, KeyPath(source, "tenants"))
        elif key == "targets":
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: key `targets` must be a mapping")
            values["targets"] = value
        else:
            known = ", ".join(sorted([*_SCALARS, "queues", "tenants", "targets"]))
            raise ConfigError(f"{source}: unknown key `{key}` (known keys: {known})")
    # Targets (issue 6, pipeline/targets.py): checked here, with each queue entry's own
    # `targets:` folded into the section, so a bad target names its file and key.
    from pipeline.targets import collect_targets

    values["targets"] = collect_targets(raw, source)
    for name in _SCALARS:
        env_name = f"CCPIPE_{name.upper()}"
        if env_name in env:
            values[name] = _coerce(name, env[env_name], f"environment variable {env_name}")
    for name, value in overrides.items():
        if value is not None:
            values[name] = _coerce(name, value, f"option --{name.replace('_', '-')}")
    settings = Settings(source=source, **values)
    try:
        settings.tenant_timezone("default")
        for tenant in settings.tenants:
            settings.tenant_timezone(tenant)
    except ZoneInfoNotFoundError as exc:
        raise ConfigError(f"{source}: unknown time zone ({exc})") from None
    return settings


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of settings")
    return data


def _coerce(name: str, value: Any, where: str) -> Any:
    kind = _SCALARS[name].type
    try:
        if kind in ("int", int):
            if isinstance(value, bool):
                raise ValueError
            result: Any = int(value)
            if result < 0:
                raise ValueError
            return result
        if kind in ("float", float):
            if isinstance(value, bool):
                raise ValueError
            number = float(value)
            if number < 0:
                raise ValueError
            return number
        if kind in ("bool", bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if isinstance(value, dict | list):
            raise ValueError
        text = str(value)
        choices = _CHOICES.get(name)
        if choices is not None and text not in choices:
            raise ConfigError(
                f"{where}: `{name}` must be one of {', '.join(choices)}, not {text!r}"
            )
        return text
    except ConfigError:
        raise
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a valid {kind} for `{name}`") from None


_CHOICES = {"compression": ("none", "gzip", "lz4")}


@dataclass(frozen=True, slots=True)
class KeyPath:
    """A key's place in a settings file, for error messages: `file: key `a.b.c``."""

    source: str
    path: str

    def __truediv__(self, key: object) -> KeyPath:
        return KeyPath(self.source, f"{self.path}.{key}")

    def __str__(self) -> str:
        return f"{self.source}: key `{self.path}`"


def _seconds(value: Any, where: KeyPath) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{where}: expected a number of seconds >= 0, got {value!r}")
    return float(value)


def _per_channel_seconds(value: Any, where: KeyPath) -> float | dict[str, float]:
    if isinstance(value, dict):
        out = {}
        for channel, seconds in value.items():
            if channel != "default" and channel not in DEFAULT_SL_THRESHOLD_S:
                raise ConfigError(f"{where}: unknown channel `{channel}`")
            out[str(channel)] = _seconds(seconds, where / channel)
        return out
    return _seconds(value, where)


def _queues(value: Any, where: KeyPath) -> dict[str, QueueOverrides]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping of queue name to settings")
    out: dict[str, QueueOverrides] = {}
    for queue, spec in value.items():
        here = where / queue
        if spec is None:
            spec = {}
        if not isinstance(spec, dict):
            raise ConfigError(f"{here} must be a mapping")
        unknown = set(spec) - {*QUEUE_KEYS, "targets"}
        if unknown:
            raise ConfigError(
                f"{here}: unknown key `{sorted(unknown)[0]}` (known: {', '.join(QUEUE_KEYS)}, "
                "targets)"
            )
        out[str(queue)] = QueueOverrides(
            sl_threshold_s=_per_channel_seconds(spec["sl_threshold_s"], here / "sl_threshold_s")
            if "sl_threshold_s" in spec
            else None,
            short_abandon_s=_per_channel_seconds(spec["short_abandon_s"], here / "short_abandon_s")
            if "short_abandon_s" in spec
            else None,
            fcr_window_s=_seconds(spec["fcr_window_s"], here / "fcr_window_s")
            if "fcr_window_s" in spec
            else None,
        )
    return out


def _tenants(value: Any, where: KeyPath) -> dict[str, dict[str, Any]]:
    if not isinstance(value, dict):
        raise ConfigError(f"{where} must be a mapping of tenant name to settings")
    out: dict[str, dict[str, Any]] = {}
    for tenant, spec in value.items():
        here = where / tenant
        spec = spec or {}
        if not isinstance(spec, dict):
            raise ConfigError(f"{here} must be a mapping")
        unknown = set(spec) - {"timezone", "queues"}
        if unknown:
            raise ConfigError(f"{here}: unknown key `{sorted(unknown)[0]}`")
        entry: dict[str, Any] = {}
        if "timezone" in spec:
            try:
                ZoneInfo(str(spec["timezone"]))
            except (ZoneInfoNotFoundError, ValueError):
                raise ConfigError(
                    f"{here / 'timezone'}: unknown time zone {spec['timezone']!r}"
                ) from None
            entry["timezone"] = str(spec["timezone"])
        if "queues" in spec:
            entry["queues"] = _queues(spec["queues"], here / "queues")
        out[str(tenant)] = entry
    return out
