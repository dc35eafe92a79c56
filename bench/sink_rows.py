"""Store insert throughput: rows/s by batch size, chdb and a ClickHouse server.

    python -m bench.sink_rows                 # chdb, + Debian's clickhouse-server if it is
                                              #   installed (started here on loopback)
    python -m bench.sink_rows --server        # the same, failing if no server is installed
    python -m bench.sink_rows --no-server     # chdb only
    python -m bench.sink_rows --native URL    # chdb + a server you run

Each store and method gets one line in docs/benchmarks.md (bench/record.py): its rows/s
at each batch size.

Rows are `segments` rows (33 columns, the widest table) given column by column, as the
sink hands them to `Store.insert`. Each figure is the best of --repeat runs of enough
batches to write at least --rows rows, timed around the insert calls only (building the
Python lists is the caller's work). For chdb, the ways to get a batch in are compared:

- store:   `ChdbStore.insert`, the store's path: pyarrow arrays -> an Arrow IPC stream ->
           `INSERT ... FORMAT ArrowStream` through chdb's streaming insert
- python:  the same arrays as a pyarrow table that chdb reads in place through its
           `Python()` table function, `INSERT ... SELECT * FROM Python(table)` (no IPC copy)
- jsonl:   one JSON object per row (orjson) -> `INSERT ... FORMAT JSONEachRow`

Debian's server (18.16) has no DateTime64 or LowCardinality by default, so the server table
keeps times as Int64 microseconds and strings as String: same values, same column count.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from pipeline.store import Store, StoreUnavailable, open_store
from pipeline.store.arrow_batch import arrow_table, arrow_type
from pipeline.store.migrations import load_migrations, migrate
from pipeline.store.tables import SEGMENT_COLUMNS

BATCH_SIZES = (1_000, 10_000, 100_000)
T0 = 1_795_338_000_000_000  # 2026-11-22T09:00:00Z in microseconds
S = 1_000_000


def segment_columns(n: int, offset: int, seed: int = 1) -> list[list[Any]]:
    """`n` plausible segment rows, column by column (about a third unanswered or open)."""
    rng = random.Random(seed + offset)
    rows: dict[str, list[Any]] = {c: [] for c in SEGMENT_COLUMNS}
    for i in range(offset, offset + n):
        offered = T0 + i * 300_000 + rng.randrange(300_000)
        answered = rng.random() < 0.8
        handled = answered and rng.random() < 0.9
        wait = rng.randrange(60 * S)
        values = {
            "tenant": "default",
            "contact_id": f"c-{i:09d}",
            "queue": ("sales", "support", "billing")[i % 3],
            "channel": ("voice", "chat", "email")[i % 3],
            "interval_start": offered - offered % (900 * S),
            "offered_ts": offered,
            "customer_id": f"k-{rng.randrange(n // 2 + 1):07d}" if i % 4 else None,
            "reason": ("billing", "outage", "how_to", None)[i % 4],
            "outcome": "answered" if answered else ("abandoned" if i % 2 else None),
            "outcome_ts": offered + wait if answered or i % 2 else None,
            "wait_us": wait if answered or i % 2 else None,
            "answer_agent_id": f"agent-{i % 97:04d}" if answered else None,
            "transferred": int(i % 17 == 0),
            "to_queue": "support" if i % 17 == 0 else None,
            "transferred_ts": offered + wait + 60 * S if i % 17 == 0 else None,
            "ended_ts": offered + wait + 300 * S if handled else None,
            "talk_us": rng.randrange(600 * S) if handled else None,
            "hold_us": rng.randrange(60 * S) if handled else None,
            "end_agent_id": f"agent-{i % 97:04d}" if handled else None,
            "wrapup_ts": offered + wait + 330 * S if handled else None,
            "acw_us": rng.randrange(60 * S) if handled else None,
            "resolved": (1 if i % 5 else 0) if handled else None,
            "disposition": "done" if handled else None,
            "csat_responses": int(i % 9 == 0),
            "csat_good": int(i % 18 == 0),
            "nps_responses": int(i % 11 == 0),
            "nps_promoters": int(i % 22 == 0),
            "nps_detractors": 0,
            "sl_threshold_us": 20 * S,
            "short_abandon_us": 5 * S,
            "fcr_window_us": 604_800 * S,
            "anomalies": 0,
            "version": 1,
        }
        for name in SEGMENT_COLUMNS:
            rows[name].append(values[name])
    return [rows[c] for c in SEGMENT_COLUMNS]


Inserter = Callable[[list[list[Any]]], None]


def measure(
    insert: Inserter,
    batch: int,
    total: int,
    repeat: int,
    reset: Callable[[], None],
    check: Callable[[int, int], None] = lambda rows, offered_sum: None,
) -> float:
    """Best rows/s over `repeat` runs of ceil(total / batch) inserts of `batch` rows;
    `check` then sees the row count and the sum of offered_ts the store should hold."""
    count = max(1, -(-total // batch))
    batches = [segment_columns(batch, k * batch) for k in range(count)]
    best = 0.0
    for _ in range(repeat):
        reset()
        started = time.perf_counter()
        for data in batches:
            insert(data)
        elapsed = time.perf_counter() - started
        best = max(best, count * batch / elapsed)
    offered = SEGMENT_COLUMNS.index("offered_ts")
    check(count * batch, sum(sum(data[offered]) for data in batches))
    return best


def chdb_methods(store: Store) -> dict[str, Inserter]:
    conn: Any = store._conn  # type: ignore[attr-defined]  # the bench compares raw paths
    types = {
        r[0]: r[1]
        for r in store.query(
            "SELECT name, type FROM system.columns WHERE database = currentDatabase() "
            "AND table = 'segments'"
        ).rows
    }
    schema = [arrow_type(types[c]) for c in SEGMENT_COLUMNS]
    names = ", ".join(SEGMENT_COLUMNS)

    def store_insert(data: list[list[Any]]) -> None:
        store.insert("segments", SEGMENT_COLUMNS, data)

    def python(data: list[list[Any]]) -> None:
        table = arrow_table(SEGMENT_COLUMNS, schema, data)  # noqa: F841 - chdb finds it by name
        conn.query(f"INSERT INTO segments ({names}) SELECT * FROM Python(table)")

    times = {
        c for c in SEGMENT_COLUMNS if types[c].startswith(("DateTime64", "Nullable(DateTime64"))
    }

    def jsonl(data: list[list[Any]]) -> None:
        # DateTime64 from JSON wants text; `seconds.micros` is exact.
        lines = []
        for row in zip(*data, strict=True):
            record = {}
            for name, value in zip(SEGMENT_COLUMNS, row, strict=True):
                if name in times and value is not None:
                    value = f"{value // S}.{value % S:06d}"
                record[name] = value
            lines.append(orjson.dumps(record))
        with conn.send_insert(f"INSERT INTO segments ({names})", "JSONEachRow") as inserter:
            inserter.append(b"\n".join(lines))
            inserter.finish()

    return {"store": store_insert, "python": python, "jsonl": jsonl}


SERVER_TABLE = (
    "CREATE TABLE bench_segments ({columns}) "
    "ENGINE = ReplacingMergeTree(version) ORDER BY (tenant, queue, contact_id)"
)
STRINGS = {
    "tenant",
    "contact_id",
    "queue",
    "channel",
    "customer_id",
    "reason",
    "outcome",
    "answer_agent_id",
    "to_queue",
    "end_agent_id",
    "disposition",
}
NULLABLE = {
    "customer_id",
    "reason",
    "outcome",
    "outcome_ts",
    "wait_us",
    "answer_agent_id",
    "to_queue",
    "transferred_ts",
    "ended_ts",
    "talk_us",
    "hold_us",
    "end_agent_id",
    "wrapup_ts",
    "acw_us",
    "resolved",
    "disposition",
}


def server_table_sql() -> str:
    parts = []
    for name in SEGMENT_COLUMNS:
        kind = "String" if name in STRINGS else "UInt64" if name == "version" else "Int64"
        if name in ("transferred", "resolved"):
            kind = "UInt8"
        parts.append(f"{name} {'Nullable(' + kind + ')' if name in NULLABLE else kind}")
    return SERVER_TABLE.format(columns=", ".join(parts))


@contextmanager
def debian_server() -> Iterator[str]:
    """Debian's clickhouse-server on a free loopback port, in a temp dir; stopped after."""
    binary = shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"
    if not os.access(binary, os.X_OK):
        raise SystemExit("clickhouse-server is not installed (apt-get install clickhouse-server)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.xml"
        config.write_text(
            f"""<?xml version="1.0"?><yandex>
<logger><level>warning</level><log>{tmp}/server.log</log></logger>
<tcp_port>{port}</tcp_port><listen_host>127.0.0.1</listen_host>
<path>{tmp}/data/</path><tmp_path>{tmp}/tmp/</tmp_path>
<mark_cache_size>67108864</mark_cache_size><users_config>users.xml</users_config>
<default_profile>default</default_profile><default_database>default</default_database>
</yandex>"""
        )
        (Path(tmp) / "users.xml").write_text(
            """<?xml version="1.0"?><yandex><profiles><default/></profiles>
<users><default><password></password><networks><ip>127.0.0.1</ip></networks>
<profile>default</profile><quota>default</quota></default></users>
<quotas><default/></quotas></yandex>"""
        )
        process = subprocess.Popen(
            [binary, f"--config-file={config}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"clickhouse://default:@127.0.0.1:{port}/default"
        try:
            deadline = time.monotonic() + 30
            probe = open_store(url)
            while True:
                try:
                    probe.query("SELECT 1")
                    break
                except StoreUnavailable:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise
                    time.sleep(0.05)
            probe.close()
            yield url
        finally:
            process.kill()  # nothing to keep: the data dir goes with the temp dir
            process.wait()


def run_native(url: str, total: int, repeat: int, out: list[tuple[str, str, int, float]]) -> None:
    store = open_store(url)
    try:
        store.execute("DROP TABLE IF EXISTS bench_segments")
        store.execute(server_table_sql())
        version = store.query("SELECT version()").scalar()

        def insert(data: list[list[Any]]) -> None:
            store.insert("bench_segments", SEGMENT_COLUMNS, data)

        def reset() -> None:
            store.execute("TRUNCATE TABLE bench_segments")

        for batch in BATCH_SIZES:
            rate = measure(insert, batch, total, repeat, reset)
            out.append((f"server {version}", "native", batch, rate))
            print(f"  server native  batch {batch:>7,}: {rate:>11,.0f} rows/s", flush=True)
        _where_the_time_goes(insert, reset, total)
        store.execute("DROP TABLE bench_segments")
    finally:
        store.close()


def _where_the_time_goes(insert: Inserter, reset: Callable[[], None], total: int) -> None:
    """One run at 10,000 rows an insert, with the CPU of this process (clickhouse-driver
    encoding the columns) and of the server: which side is the limit."""
    import psutil

    servers = [p for p in psutil.process_iter(["name"]) if "clickhouse" in (p.info["name"] or "")]
    batches = [segment_columns(10_000, k * 10_000) for k in range(max(1, total // 10_000))]
    reset()
    server_before = sum(sum(p.cpu_times()[:2]) for p in servers)
    cpu, wall = time.process_time(), time.perf_counter()
    for data in batches:
        insert(data)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    server = sum(sum(p.cpu_times()[:2]) for p in servers) - server_before
    rows = len(batches) * 10_000
    NATIVE_SPLIT.append(
        f"at 10,000 rows an insert, {rows / wall:,.0f} rows/s: the client (clickhouse-driver "
        f"encoding columns in Python) used {cpu / wall:.0%} of a core, "
        f"{1e6 * cpu / rows:.2f} us a row, the server {server / wall:.0%} of a core"
    )
    print(f"  {NATIVE_SPLIT[-1]}", flush=True)


NATIVE_SPLIT: list[str] = []


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=200_000, help="rows per run (default 200000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the best counts")
    parser.add_argument(
        "--server", action="store_true", help="also start Debian's server and measure it"
    )
    parser.add_argument(
        "--no-server",
        action="store_true",
        help="chdb only (by default Debian's server is measured too when it is installed)",
    )
    parser.add_argument("--native", metavar="URL", help="also measure this ClickHouse server")
    parser.add_argument("--methods", default="store,python,jsonl", help="chdb methods to measure")
    args = parser.parse_args()
    results: list[tuple[str, str, int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"chdb://{tmp}/store")
        try:
            migrate(store, load_migrations())
            methods = chdb_methods(store)

            def reset() -> None:
                store.execute("TRUNCATE TABLE segments")

            def check(rows: int, offered_sum: int) -> None:
                # A fast path that stores wrong values would be no path: verify.
                got = store.query(
                    f"SELECT count(), sum(toUnixTimestamp64Micro(offered_ts) - {T0}) FROM segments"
                ).rows[0]
                assert got == (rows, offered_sum - rows * T0), (got, rows, offered_sum)

            for name in args.methods.split(","):
                for batch in BATCH_SIZES:
                    rate = measure(methods[name], batch, args.rows, args.repeat, reset, check)
                    results.append(("chdb", name, batch, rate))
                    print(
                        f"  chdb   {name:<7} batch {batch:>7,}: {rate:>11,.0f} rows/s", flush=True
                    )
        finally:
            store.close()
    if args.native:
        run_native(args.native, args.rows, args.repeat, results)
    elif args.server or (not args.no_server and server_installed()):
        with debian_server() as url:
            run_native(url, args.rows, args.repeat, results)
    print("\n| store | method | batch | rows/s |\n|---|---|---:|---:|")
    for store_name, method, batch, rate in results:
        print(f"| {store_name} | {method} | {batch:,} | {rate:,.0f} |")
    record_results(results)
    return 0


METHOD_NAMES = {
    "store": "store path: Arrow IPC stream",
    "python": "Python() table function",
    "jsonl": "JSONEachRow",
    "native": "store path: native columnar blocks",
}


def server_installed() -> bool:
    binary = shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"
    return os.access(binary, os.X_OK)


def record_results(results: list[tuple[str, str, int, float]]) -> None:
    """One line per store and method in docs/benchmarks.md: rows/s by batch size."""
    from bench.record import record

    grouped: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for store_name, method, batch, rate in results:
        grouped.setdefault((store_name, method), []).append((batch, rate))
    for (store_name, method), rates in grouped.items():
        by_batch = ", ".join(f"{batch:,} rows/insert: {rate:,.0f}" for batch, rate in rates)
        what = METHOD_NAMES.get(method, method)
        split = f"; {NATIVE_SPLIT[-1]}" if method == "native" and NATIVE_SPLIT else ""
        record(
            f"sink inserts, {store_name} ({what})",
            f"rows/s by batch size: {by_batch} (segments rows, 33 columns){split}",
            packages=("chdb", "clickhouse-driver", "pyarrow"),
        )


if __name__ == "__main__":
    sys.exit(main())
