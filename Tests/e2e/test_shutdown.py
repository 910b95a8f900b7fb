"""SIGTERM drains what ZeroMQ delivered and writes a last flush (flush_interval is too long for
any periodic flush to happen during the test)."""
from __future__ import annotations

import json
import random
import time

import zmq

from kpid_harness import toml_config
from kpid_replica import HOUR_MS, MINUTE_MS, Metric, Replica, compare_rows, summarize

METRICS = [
    Metric("orders", ["order"], "count", ["minute", "hour"], ["shop"]),
    Metric("revenue", ["order"], "sum(total)", ["hour"]),
]


def test_sigterm_writes_a_last_flush_of_everything_delivered(kpid_factory, free_ports):
    now = int(time.time() * 1000)
    base = (now // HOUR_MS) * HOUR_MS - 4 * HOUR_MS
    rng = random.Random(5)
    events = []
    t = base
    for _ in range(3000):
        t += rng.randrange(0, 4000)
        events.append({"type": "order", "ts": t - (rng.randrange(0, 90_000) if rng.random() < 0.2 else 0),
                       "shop": rng.choice(["s1", "s2", "s3"]), "total": rng.choice([5, 12.5, 99.99, 1])})

    port, = free_ports(1)
    config = toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "1m", "flush_interval": "1h", "max_future": "10m"},
        sources=[{"name": "shop", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"]}],
        metrics=[m.toml() for m in METRICS],
    )
    kpid = kpid_factory(config)
    ctx = zmq.Context()
    try:
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 10_000)
        s.connect(f"tcp://127.0.0.1:{port}")
        for i in range(0, len(events), 50):
            s.send("\n".join(json.dumps(e) for e in events[i:i + 50]).encode())
        s.close()   # linger: returns once queued messages are handed to the network
    finally:
        ctx.term()
    time.sleep(1.5)  # loopback delivery; no periodic flush can happen within flush_interval = 1h
    assert kpid.counter_sum("events_received") == 0, "a flush happened before SIGTERM; the test proves nothing"
    kpid.stop()

    replica = Replica(METRICS, "UTC", MINUTE_MS)
    for e in events:
        replica.ingest(e["type"], e["ts"], e)
    problems = compare_rows(replica.rows(), kpid.aggregate_rows())
    assert not problems, "after SIGTERM: " + summarize(problems)
    assert kpid.counter("events_received", source="shop", type="order") == len(events)
    assert kpid.counter("messages_received", source="shop") == len(range(0, len(events), 50))
    late = {json.loads(lab)["metric"]: v for (n, lab), v in kpid.counters().items() if n == "late_events" and v}
    assert late == replica.late
