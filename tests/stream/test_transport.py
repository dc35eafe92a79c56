"""The worker's consumer does not wait Faust's hard-coded 1.5 s for a fetch."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec

from pipeline.config import load_settings
from pipeline.stream.faust_runtime import FETCH_MAX_WAIT_MS, FaustRuntime


def test_the_worker_consumer_waits_at_most_100_ms_for_a_fetch(tmp_path: Path) -> None:
    async def build() -> int:
        settings = msgspec.structs.replace(load_settings(env={}), state_dir=str(tmp_path))
        runtime = FaustRuntime(settings, web_port=6999)  # built, never started: no broker needed
        thread = runtime.app.consumer._thread  # type: ignore[attr-defined]
        consumer = thread._create_worker_consumer(runtime.app.transport)
        try:
            return int(consumer._fetch_max_wait_ms)
        finally:
            await consumer.stop()

    assert FETCH_MAX_WAIT_MS == 100
    assert asyncio.run(build()) == FETCH_MAX_WAIT_MS
