"""Effective-dated settings: a threshold changed from a date applies from that date on, and
every interval names the settings version it was counted with."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.config import ConfigError, Settings, load_settings
from pipeline.core.clock import datetime_to_us
from pipeline.core.intervals import IntervalKey
from pipeline.core.kpi_state import KpiState
from pipeline.load import interval_rows
from pipeline.store.tables import KPI_INTERVAL_COLUMNS
from tests.core.builders import T0, answered, offered
from tests.core.test_service_levels import _decoded

DAY_S = 86400
# 2026-11-22 (T0's day) under the old threshold, from 2026-11-23 the new one.
CHANGED = (
    "queues:\n"
    "  q:\n"
    "    - {sl_threshold_s: 20}\n"
    "    - {sl_threshold_s: 40, effective_from: 2026-11-23}\n"
)


def _settings(tmp_path: Path, text: str) -> Settings:
    path = tmp_path / "settings.yaml"
    path.write_text(text)
    return load_settings(path, env={})


def test_a_version_applies_from_local_midnight_of_its_date(tmp_path: Path) -> None:
    settings = _settings(tmp_path, CHANGED)
    before = datetime_to_us(datetime(2026, 11, 22, 23, 45, tzinfo=UTC))
    after = datetime_to_us(datetime(2026, 11, 23, tzinfo=UTC))
    old, new = (
        settings.queue("default", "q", "voice", before),
        settings.queue("default", "q", "voice", after),
    )
    assert (old.sl_threshold_us, new.sl_threshold_us) == (20_000_000, 40_000_000)
    assert old.version.startswith("base#") and new.version.startswith("2026-11-23#")
    # Without a time, the latest version: what a tool with no date (the simulator) uses.
    assert settings.queue("default", "q", "voice").sl_threshold_us == 40_000_000
    # In Paris the 23rd starts an hour earlier, at 23:00 UTC on the 22nd.
    paris = _settings(tmp_path, CHANGED + "tenants:\n  acme: {timezone: Europe/Paris}\n")
    late_22 = datetime_to_us(datetime(2026, 11, 22, 23, 15, tzinfo=UTC))
    assert paris.queue("acme", "q", "voice", late_22).sl_threshold_us == 40_000_000
    assert paris.queue("default", "q", "voice", late_22).sl_threshold_us == 20_000_000


def test_a_version_keeps_what_it_leaves_unset_and_names_what_it_gives(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        "queues:\n  q:\n"
        "    - {sl_threshold_s: {voice: 30, default: 90}, short_abandon_s: 3}\n"
        "    - {sl_threshold_s: {chat: 120}, effective_from: 2026-12-01}\n"
        "    - {headline_service_level: connect, effective_from: 2027-01-01}\n",
    )
    december = datetime_to_us(datetime(2026, 12, 15, tzinfo=UTC))
    voice = settings.queue("default", "q", "voice", december)
    chat = settings.queue("default", "q", "chat", december)
    assert (voice.sl_threshold_us, voice.short_abandon_us) == (30_000_000, 3_000_000)
    assert chat.sl_threshold_us == 120_000_000
    assert settings.headline_service_level("default", "q", december).variant == "contract"
    assert settings.headline_service_level("default", "q").variant == "connect"
    # The same values under another date are another version; the same version, one name.
    january = datetime_to_us(datetime(2027, 1, 2, tzinfo=UTC))
    assert settings.queue("default", "q", "voice", january).version.startswith("2027-01-01#")
    later = settings.queue("default", "q", "voice", december + DAY_S * 1_000_000)
    assert later.version == voice.version


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("queues:\n  q: [{effective_from: soon}]\n", "effective_from"),
        ("queues:\n  q: [{effective_from: 2026-13-01}]\n", "not a valid date"),
        ("queues:\n  q: {headline_service_level: median}\n", "headline_service_level"),
    ],
)
def test_bad_versions_are_named(tmp_path: Path, text: str, names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        _settings(tmp_path, text)


def test_a_threshold_change_mid_range_counts_each_interval_under_its_own_date(
    tmp_path: Path,
) -> None:
    """The same contact (answered after 30 s) on the 22nd and on the 23rd: within the
    threshold only from the 23rd, and each interval row names the version it used."""
    settings = _settings(tmp_path, CHANGED)
    events = []
    for day in range(2):
        offset = day * DAY_S
        events += [offered(offset, f"c{day}"), answered(offset + 30, f"c{day}")]
    state = KpiState(settings.queue)
    state.apply(_decoded(events))
    state.flush()
    rows = [dict(zip(KPI_INTERVAL_COLUMNS, row, strict=True)) for row in interval_rows(state)]
    assert [row["answered_within_sl"] for row in rows] == [0, 1]
    versions = [row["settings_version"] for row in rows]
    assert versions[0].startswith("base#") and versions[1].startswith("2026-11-23#")
    first = IntervalKey("default", "q", "voice", datetime_to_us(T0))
    assert state.segments.queue_config(*first).version == versions[0]
