"""Durability under load with real processes: SIGTERM while a pyzmq PUSH publisher is still
sending loses nothing that kpid received, and a reader holding a long read transaction never
stalls ingest or the flushes."""
from __future__ import annotations

import json
import re
import sqlite3
import threading
import time

import zmq

from kpid_harness import push_ndjson, toml_config
from kpid_replica import HOUR_MS, MINUTE_MS, Metric, Replica, compare_rows, summarize

METRICS = [
    Metric("orders", ["order"], "count", ["minute", "hour"], ["shop"]),
    Metric("revenue", ["order"], "sum(total)", ["hour"]),
    Metric("buyers", ["order"], "distinct(buyer)", ["day"]),
]


def order(i: int, base: int) -> dict:
    # Event times cycle through 55 minutes, so an endless stream is never late nor in the future.
    return {"type": "order", "ts": base + (i % 90_000) * 37, "shop": f"s{i % 4}", "total": (i % 9) + 0.5, "buyer": f"b{i % 997}"}


def orders(n: int, base: int) -> list[dict]:
    return [order(i, base) for i in range(n)]


def config(port: int, flush: str) -> str:
    return toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "1h", "flush_interval": flush, "max_future": "10m"},
        sources=[{"name": "shop", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"], "receive_hwm": 100}],
        metrics=[m.toml() for m in METRICS],
    )


def test_sigterm_under_load_over_push_pull_loses_nothing_received(kpid_factory, free_ports):
    port, = free_ports(1)
    base = int(time.time() * 1000) // HOUR_MS * HOUR_MS - HOUR_MS
    batch = 50
    kpid = kpid_factory(config(port, "250ms"))
    stop = threading.Event()
    sent = [0]

    def publish() -> None:
        ctx = zmq.Context()
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.SNDHWM, 100)
        s.setsockopt(zmq.LINGER, 0)
        s.connect(f"tcp://127.0.0.1:{port}")
        i = 0
        while not stop.is_set():   # an endless stream: the publisher is still sending at SIGTERM
            message = b"\n".join(json.dumps(order(j, base)).encode() for j in range(i, i + batch))
            while not stop.is_set():
                try:
                    s.send(message, flags=zmq.NOBLOCK)
                    i += batch
                    sent[0] = i
                    # ~20k events/s: steady load, and a replica small enough to check quickly
                    # (kpid drains what keeps arriving for up to 3 s after SIGTERM).
                    time.sleep(0.002)
                    break
                except zmq.Again:
                    time.sleep(0.001)
        s.close()
        ctx.term()

    t = threading.Thread(target=publish)
    t.start()
    kpid.wait_until(lambda: kpid.counter_sum("events_received") > 20_000, timeout=60, what="load")
    kpid.stop()   # SIGTERM while the publisher is still sending
    time.sleep(0.2)
    stop.set()
    t.join(timeout=30)

    received = kpid.counter_sum("events_received")
    assert received % batch == 0 and 0 < received < sent[0], "kpid stopped while messages were still coming"
    logged = re.findall(r'msg="ingest stopped".*?events_received=(\d+)', kpid.stdout_path.read_text())
    assert logged and int(logged[-1]) == received, "every event kpid received reached SQLite"
    # PUSH/PULL keeps order from one pusher: kpid received exactly the first `received` events,
    # and every one of them is in the aggregates.
    replica = Replica(METRICS, "UTC", HOUR_MS)
    for i in range(received):
        e = order(i, base)
        replica.ingest(e["type"], e["ts"], e)
    problems = compare_rows(replica.rows(), kpid.aggregate_rows())
    assert not problems, summarize(problems)


def test_a_long_read_transaction_never_stalls_ingest_or_flushes(kpid_factory, free_ports):
    port, = free_ports(1)
    base = int(time.time() * 1000) // HOUR_MS * HOUR_MS - HOUR_MS
    kpid = kpid_factory(config(port, "100ms"))
    endpoint = f"tcp://127.0.0.1:{port}"
    first = orders(5_000, base)
    push_ndjson(kpid, endpoint, first)

    reader = sqlite3.connect(str(kpid.db_path), timeout=1, isolation_level=None)
    reader.execute("BEGIN")
    snapshot = reader.execute("SELECT SUM(value) FROM counters WHERE name = 'events_received'").fetchone()[0]
    assert snapshot == 5_000
    try:
        # While the reader holds its snapshot, kpid goes on receiving and committing flushes.
        second = orders(20_000, base + 5_000 * 37)
        push_ndjson(kpid, endpoint, second)
        kpid.wait_until(lambda: kpid.counter_sum("events_received") == 25_000, timeout=30, what="flushes under a reader")
        # The reader still sees its snapshot, all of one flush or none of it.
        again = reader.execute("SELECT SUM(value) FROM counters WHERE name = 'events_received'").fetchone()[0]
        assert again == snapshot
        orders_hour = reader.execute("SELECT SUM(samples) FROM aggregates WHERE metric = 'orders' AND period = 'hour'").fetchone()[0]
        assert orders_hour == 5_000
    finally:
        reader.execute("COMMIT")
        reader.close()
    assert kpid.alive()
    kpid.stop()
    replica = Replica(METRICS, "UTC", HOUR_MS)
    for e in first + second:
        replica.ingest(e["type"], e["ts"], e)
    problems = compare_rows(replica.rows(), kpid.aggregate_rows())
    assert not problems, summarize(problems)
    assert "flush failed" not in kpid.stdout_path.read_text()
