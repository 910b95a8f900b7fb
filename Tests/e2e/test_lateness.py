"""Test 2: out-of-order and late events against a Python replay of the watermark rule."""
from __future__ import annotations

import json
import random
import time

import zmq

from kpid_harness import toml_config
from kpid_replica import HOUR_MS, MINUTE_MS, Metric, Replica, compare_rows, summarize

LATENESS_MS = MINUTE_MS  # allowed_lateness = "1m"

METRICS = [
    # One window per metric, so late_events{metric} counts one window per event.
    Metric("ticks_per_minute", ["tick"], "count", ["minute"]),
    Metric("amount_per_hour", ["tick"], "sum(amount)", ["hour"], ["k"]),
    Metric("max_per_minute", ["tick"], "max(amount)", ["minute"], ["k"], time_zone="Asia/Kolkata"),
]


def scripted(base: int) -> list[int]:
    """Offsets chosen to hit the watermark rule on both sides of every boundary."""
    m, h, s = MINUTE_MS, HOUR_MS, 1000
    return [base + x for x in [
        10 * m,            # first event
        40 * m,            # wm = 0:39
        20 * m,            # out of order, within lateness: counted
        39 * m,            # minute [0:39, 0:40) ends after wm 0:39: counted
        38 * m + 59 * s,   # minute [0:38, 0:39) ends at wm 0:39: late (end <= watermark)
        h + 30 * m,        # wm = 1:29; minute windows up to 1:29 final, hour [0:00, 1:00) final
        25 * m,            # late for minute and hour
        h + 29 * m + 30 * s,  # within lateness: counted (minute [1:29, 1:30) ends after 1:29)
        h + 28 * m,        # minute [1:28, 1:29) ends at 1:29: late; hour [1:00, 2:00) open: counted
        2 * h + 5 * m,     # wm = 2:04; hour [1:00, 2:00) final
        h + 59 * m + 59 * s + 999,  # late for both windows
        2 * h + 4 * m,     # minute [2:04, 2:05): counted
        2 * h + 3 * m,     # minute [2:03, 2:04) ends at wm: late; hour [2:00, 3:00) open: counted
        2 * h + 5 * m,     # same ts as the max: counted
    ]]


def test_late_and_out_of_order_events(kpid_factory, free_ports):
    now = int(time.time() * 1000)
    base = (now // HOUR_MS) * HOUR_MS - 6 * HOUR_MS   # whole UTC hour, safely in the past
    rng = random.Random(7)

    stamps = scripted(base)
    # A seeded random walk: time moves forward, a third of the events jump back up to 150 s.
    t = base + 2 * HOUR_MS + 6 * MINUTE_MS
    for _ in range(600):
        t += rng.randrange(0, 20_000)
        stamps.append(t - rng.randrange(0, 150_000) if rng.random() < 0.33 else t)
    assert max(stamps) < now

    events = []
    for i, ts in enumerate(stamps):
        amount = rng.choice([1, 2, 3.5, 10, -4, 0.125])
        events.append({"type": "tick", "ts": ts, "k": rng.choice(["a", "b"]), "amount": amount, "seq": i})

    # Then, one at a time, alternating between two sources: the watermark is one for the daemon,
    # whichever source advanced it.
    top = max(stamps)
    crossing = [
        ("feed2", top - 10 * MINUTE_MS),   # late for the minute window
        ("feed2", top - 30_000),           # within lateness
        ("feed2", top + 5 * MINUTE_MS),    # new maximum, from the second source
        ("feed", top + 2 * MINUTE_MS),     # late for the first source because of the second one
        ("feed", top + 4 * MINUTE_MS + 30_000),  # within lateness
    ]
    assert top + 5 * MINUTE_MS < now
    cross_events = []
    for src, ts in crossing:
        cross_events.append((src, {"type": "tick", "ts": ts, "k": "c", "amount": 1, "seq": len(events) + len(cross_events)}))

    port, port2 = free_ports(2)
    config = toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "1m", "flush_interval": "200ms", "max_future": "10m"},
        sources=[{"name": "feed", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"]},
                 {"name": "feed2", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port2}"]}],
        metrics=[m.toml() for m in METRICS],
    )
    kpid = kpid_factory(config)

    ctx = zmq.Context()
    try:
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 10_000)
        s.connect(f"tcp://127.0.0.1:{port}")
        # One connection keeps the order. Single events first, then small NDJSON batches.
        i = 0
        while i < len(events):
            k = 1 if i < 40 else rng.randrange(1, 8)
            s.send("\n".join(json.dumps(e) for e in events[i:i + k]).encode())
            i += k
        kpid.wait_until(lambda: kpid.counter_sum("events_received") >= len(events), timeout=30,
                        what=f"events_received to reach {len(events)}")
        s2 = ctx.socket(zmq.PUSH)
        s2.setsockopt(zmq.LINGER, 10_000)
        s2.connect(f"tcp://127.0.0.1:{port2}")
        for n, (src, e) in enumerate(cross_events, start=1):
            (s if src == "feed" else s2).send(json.dumps(e).encode())
            kpid.wait_until(lambda: kpid.counter_sum("events_received") >= len(events) + n, timeout=30,
                            what=f"crossing event {n}")
        s.close()
        s2.close()
    finally:
        ctx.term()
    kpid.stop()

    replica = Replica(METRICS, "UTC", LATENESS_MS)
    for e in events + [e for _, e in cross_events]:
        replica.ingest(e["type"], e["ts"], e)
    expected = replica.rows()
    actual = kpid.aggregate_rows()
    problems = compare_rows(expected, actual)
    assert not problems, "aggregates differ from the watermark replay: " + summarize(problems)

    # The data exercises both outcomes: late events and windows that became final.
    assert replica.late.get("ticks_per_minute", 0) > 5 and replica.late.get("amount_per_hour", 0) >= 2
    assert any(v[3] == 1 for v in expected.values()) and any(v[3] == 0 for v in expected.values())

    counters = kpid.counters()
    got_late = {json.loads(lab)["metric"]: v for (n, lab), v in counters.items() if n == "late_events" and v}
    assert got_late == replica.late
    assert kpid.counter("events_received", source="feed", type="tick") == len(events) + 2
    assert kpid.counter("events_received", source="feed2", type="tick") == 3
    got_mr = {k: v for k, v in counters.items() if k[0] == "metric_rejects" and v}
    assert got_mr == {}, got_mr

    late_samples = [r for r in kpid.rejects_table() if r["reason"] == "late"]
    assert late_samples, "late events leave samples in the rejects table"
    for r in late_samples:
        assert r["source"] in ("feed", "feed2")
        assert r["metric"] in {m.name for m in METRICS}
        assert b'"type": "tick"' in bytes(r["sample"])
