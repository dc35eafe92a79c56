"""One table batch into the store: retried while ClickHouse cannot be reached, never dropped.

`Writer.write` returns only when the batch is in the store (True) or when the caller's
`Pause.wait` says the batch is no longer worth writing (False: its partitions were taken
away, or the sink is stopping; nothing is committed and the rows are read again). It raises
only `StoreError`s that a retry will not fix (a refused statement, a schema mismatch).

While ClickHouse is unreachable the writer pauses consumption (`Pause.pause`) and waits
between attempts through `Pause.wait`, which keeps polling the paused consumer so the group
keeps its member; memory stays bounded by the one batch held. The outage is logged once when
it starts and once when it ends, and shown by `ccpipe_sink_store_up`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol

from pipeline.sink.batches import TableBatch
from pipeline.sink.metrics import REFUSED, UNAVAILABLE, SinkMetrics
from pipeline.sink.policy import DEFAULT_BACKOFF, Backoff
from pipeline.store import Store, StoreError, StoreUnavailable

log = logging.getLogger("ccpipe.sink")


class Pause(Protocol):
    """How the writer holds consumption while it waits for the store."""

    def pause(self) -> None: ...

    def wait(self, seconds: float) -> bool:
        """Wait about `seconds`, keeping the consumer alive; False to give the batch up."""
        ...

    def resume(self) -> None: ...


class Writer:
    def __init__(
        self,
        store: Store,
        metrics: SinkMetrics,
        pause: Pause,
        backoff: Backoff = DEFAULT_BACKOFF,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._pause = pause
        self._backoff = backoff
        self._clock = clock
        self._down_since: float | None = None
        self._attempts = 0

    def write(self, batch: TableBatch) -> bool:
        """Insert the batch; True once it is in the store, False if the caller gave it up."""
        metrics = self._metrics
        failures = 0
        while True:
            started = self._clock()
            try:
                self._store.insert(batch.table, batch.columns, batch.data, dedup_token=batch.token)
            except StoreUnavailable as exc:
                metrics.insert_failures.labels(batch.table, UNAVAILABLE).inc()
                delay = self._backoff.delay(failures)
                failures += 1
                self._attempts += 1
                if self._down_since is None:
                    self._down_since = started
                    metrics.store_up.set(0)
                    metrics.paused.set(1)
                    self._pause.pause()
                    log.warning(
                        "ClickHouse unreachable (%s); consumption paused, %d rows held, "
                        "retrying with backoff",
                        exc,
                        batch.rows,
                    )
                if not self._pause.wait(delay):
                    log.warning("gave up the %s batch unwritten: it will be read again",
                                batch.table)  # fmt: skip
                    # store_up stays 0 until an insert succeeds; the next failure pauses again.
                    self._down_since = None
                    self._attempts = 0
                    metrics.paused.set(0)
                    self._pause.resume()
                    return False
                continue
            except StoreError:
                metrics.insert_failures.labels(batch.table, REFUSED).inc()
                raise
            elapsed = self._clock() - started
            metrics.insert_seconds.labels(batch.table).observe(elapsed)
            metrics.batch_rows.labels(batch.table).observe(batch.rows)
            metrics.rows_written.labels(batch.table).inc(batch.rows)
            metrics.store_up.set(1)
            if self._down_since is not None:
                log.warning(
                    "ClickHouse is back after %.1f s and %d failed attempts; consuming again",
                    self._clock() - self._down_since,
                    self._attempts,
                )
                self._down_since = None
                self._attempts = 0
                metrics.paused.set(0)
                self._pause.resume()
            return True
