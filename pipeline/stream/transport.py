"""Faust's aiokafka transport with a shorter fetch wait.

faust-streaming 0.15.3 builds its worker consumer with `fetch_max_wait_ms=1500` and no setting
to change it. aiokafka leaves partitions that still hold unread records out of its next fetch,
so after any hiccup a fetch may cover only idle partitions and the broker holds it the full
1.5 s: measured, the worker then stayed 1.2-2 s behind at 2,000 events/s (p99 over 4 s);
with 100 ms it was back to ~250 ms within two seconds (docs/benchmarks.md, bench.latency).
The cost is more empty fetch requests while idle.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as driver

FETCH_MAX_WAIT_MS = 100


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        # Read by AIOKafkaConsumer.start() when it builds its Fetcher.
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        return consumer


class _Consumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class _Transport(driver.Transport):
    Consumer = _Consumer


class App(faust.App):
    """A faust.App whose consumer transport is the one above."""

    def _new_transport(self) -> Any:
        return _Transport(self.conf.broker_consumer, self)
