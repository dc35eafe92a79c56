"""Settings: defaults from the contract, a YAML file, CCPIPE_* variables, clear errors."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from pipeline.config import ConfigError, load_settings
from pipeline.core.events import CHANNELS
from pipeline.core.thresholds import (
    DEFAULT_FCR_WINDOW_S,
    DEFAULT_SHORT_ABANDON_S,
    DEFAULT_SL_THRESHOLD_S,
)


def test_contract_defaults_per_channel() -> None:
    settings = load_settings(env={})
    expected = {"voice": (20, 5), "chat": (60, 0), "email": (86400, 0), "callback": (3600, 0)}
    for channel, (sl, short) in expected.items():
        config = settings.queue("default", "any", channel)
        assert config.sl_threshold_us == sl * 1_000_000
        assert config.short_abandon_us == short * 1_000_000
        assert config.fcr_window_us == 604800 * 1_000_000


def test_file_then_environment_then_flags(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("broker: file:9092\nstore: chdb://./x\npartitions: 8\n")
    env = {"CCPIPE_BROKER": "env:9092"}
    settings = load_settings(path, env=env)
    assert (settings.broker, settings.store, settings.partitions) == ("env:9092", "chdb://./x", 8)
    assert load_settings(path, env=env, broker="flag:1").broker == "flag:1"
    assert load_settings(env={"CCPIPE_CONFIG": str(path)}).partitions == 8


def test_per_tenant_queue_overrides_win(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "queues:\n  sales: {sl_threshold_s: 30}\n"
        "tenants:\n  acme:\n    timezone: Europe/Paris\n    queues:\n"
        "      sales: {sl_threshold_s: {voice: 10, default: 45}}\n"
    )
    settings = load_settings(path, env={})
    assert settings.queue("default", "sales", "voice").sl_threshold_us == 30_000_000
    assert settings.queue("acme", "sales", "voice").sl_threshold_us == 10_000_000
    assert settings.queue("acme", "sales", "chat").sl_threshold_us == 45_000_000
    assert str(settings.tenant_timezone("acme")) == "Europe/Paris"
    assert str(settings.tenant_timezone("other")) == "UTC"


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("partitions: many\n", "`partitions`"),
        ("brokr: x\n", "`brokr`"),
        ("queues:\n  sales: {sl_threshold_s: -1}\n", "queues.sales.sl_threshold_s"),
        ("queues:\n  sales: {sla: 3}\n", "`sla`"),
        ("queues:\n  sales: {sl_threshold_s: {fax: 3}}\n", "`fax`"),
        ("tenants:\n  a: {timezone: Mars/Olympus}\n", "tenants.a.timezone"),
        ("- just\n- a list\n", "top level"),
        ("a: [unclosed\n", "not valid YAML"),
        ("compression: snappy\n", "`compression` must be one of none, gzip, lz4"),
    ],
)
def test_a_bad_file_names_the_key_and_the_file(tmp_path: Path, text: str, names: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(path, env={})
    assert names in str(error.value)
    assert str(path) in str(error.value)


def test_a_bad_value_in_a_map_names_its_key_and_the_value(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("queues:\n  sales: {}\n  billing: {sl_threshold_s: {voice: 20, chat: -5}}\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path, env={})
    assert "key `queues.billing.sl_threshold_s.chat`" in str(error.value)
    assert str(error.value).endswith("got -5")


def test_variables_and_flags_are_read_as_their_setting_s_type() -> None:
    env = {"CCPIPE_PARTITIONS": "8", "CCPIPE_PER_AGENT_METRICS": "true"}
    settings = load_settings(env=env, sink_batch_seconds="2.5")
    assert (settings.partitions, settings.per_agent_metrics) == (8, True)
    assert settings.sink_batch_seconds == 2.5
    with pytest.raises(ConfigError, match=r"CCPIPE_PARTITIONS.*>= 1"):
        load_settings(env={"CCPIPE_PARTITIONS": "0"})


def test_a_bad_environment_variable_is_named() -> None:
    with pytest.raises(ConfigError, match="CCPIPE_WEB_PORT"):
        load_settings(env={"CCPIPE_WEB_PORT": "eighty"})


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_settings(tmp_path / "nope.yaml", env={})


ROOT = Path(__file__).resolve().parents[2]


def test_the_documented_defaults_are_the_contract_s() -> None:
    """docs/configuration.md's table against pipeline/core/thresholds.py, every channel."""
    doc = (ROOT / "docs" / "configuration.md").read_text()
    rows = re.findall(r"^\| (\w+) \| (\d+) \| (\d+) \|$", doc, re.M)
    assert {channel: (int(sl), int(short)) for channel, sl, short in rows} == {
        channel: (DEFAULT_SL_THRESHOLD_S[channel], DEFAULT_SHORT_ABANDON_S.get(channel, 0))
        for channel in CHANNELS
    }
    assert f"`fcr_window_s` {DEFAULT_FCR_WINDOW_S} " in doc


def test_the_documented_example_is_a_valid_settings_file(tmp_path: Path) -> None:
    doc = (ROOT / "docs" / "configuration.md").read_text()
    path = tmp_path / "ccpipe.yaml"
    path.write_text(re.findall(r"```yaml\n(.*?)```", doc, re.S)[0])
    settings = load_settings(path, env={})
    assert settings.queue("acme", "sales", "voice").sl_threshold_us == 15_000_000
    assert settings.queue("other", "support", "voice").short_abandon_us == 8_000_000
    assert str(settings.tenant_timezone("acme")) == "Europe/Paris"


def imported(source: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom):
            modules.add(node.module or "")
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


def test_the_core_and_the_targets_never_import_the_settings() -> None:
    """The core is handed lookups (`settings.queue`, `settings.tenant_timezone`) and imports
    only the core; config imports targets, never the other way round."""
    for source in (ROOT / "pipeline" / "core").glob("*.py"):
        ours = {m for m in imported(source) if m.split(".")[0] == "pipeline"}
        assert all(m.startswith("pipeline.core.") for m in ours), (source, ours)
    assert "pipeline.config" not in imported(ROOT / "pipeline" / "targets.py")
