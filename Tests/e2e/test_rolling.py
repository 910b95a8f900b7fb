"""Rolling windows and label caps over real ZeroMQ, checked against DuckDB.

Events are replayed in arrival order in Python only to decide which are late (the watermark
rule); every rolling value is then recomputed by DuckDB straight from the accepted raw events
with a range join (no panes), and compared with each row kpid stored.
"""
from __future__ import annotations

import json
import math
import random
import time

import duckdb
import zmq

from kpid_harness import toml_config
from kpid_replica import HOUR_MS, MINUTE_MS, canonical_labels, rfc3339_utc

LATENESS_MS = MINUTE_MS
ROLLING = [
    # name, aggregate, group_by, span, step, span text, SQL aggregate
    ("jobs_5m", "count", ["retailer"], 5 * MINUTE_MS, 30_000, "5m", "count(*)"),
    ("duration_5m", "avg(duration_ms)", ["retailer"], 5 * MINUTE_MS, 30_000, "5m", "avg(duration_ms)"),
    ("slowest_10m", "max(duration_ms)", [], 10 * MINUTE_MS, MINUTE_MS, "10m", "max(duration_ms)"),
    ("users_10m", "distinct(user)", [], 10 * MINUTE_MS, 2 * MINUTE_MS, "10m", "count(DISTINCT user_id)"),
]
CAP = 3


def pane_end(ts: int, step: int) -> int:
    return ts - ts % step + step


def test_rolling_windows_and_label_cap(kpid_factory, free_ports):
    now = int(time.time() * 1000)
    base = (now // HOUR_MS) * HOUR_MS - 6 * HOUR_MS
    rng = random.Random(11)

    events = []
    t = base
    for i in range(1500):
        t += rng.randrange(0, 2_400)
        ts = t - rng.randrange(0, 100_000) if rng.random() < 0.1 else t
        events.append({"type": "scrape.job", "ts": ts, "retailer": rng.choice(["r1", "r2", "r3", "r4"]),
                       "duration_ms": rng.randrange(5, 900), "user": rng.randrange(0, 60),
                       "route": rng.choice(["/a", "/b"]) if rng.random() < 0.8 else f"/junk{rng.randrange(50)}"})
    tick = {"type": "tick", "ts": max(e["ts"] for e in events) + HOUR_MS}
    assert tick["ts"] < now

    metrics = [{"name": n, "events": ["scrape.job"], "aggregate": a, **({"group_by": g} if g else {}),
                "rolling": text, "step": f"{step // 1000}s"} for n, a, g, _, step, text, _ in ROLLING]
    metrics.append({"name": "capped", "events": ["scrape.job"], "aggregate": "count", "group_by": ["route"],
                    "windows": ["minute"], "max_label_sets": CAP})
    metrics.append({"name": "ticks", "events": ["tick"], "aggregate": "count", "windows": ["day"]})
    port, = free_ports(1)
    kpid = kpid_factory(toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "1m", "flush_interval": "200ms"},
        sources=[{"name": "feed", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"]}],
        metrics=metrics))

    ctx = zmq.Context()
    try:
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 10_000)
        s.connect(f"tcp://127.0.0.1:{port}")
        i = 0
        while i < len(events):
            k = rng.randrange(1, 20)
            s.send("\n".join(json.dumps(e) for e in events[i:i + k]).encode())
            i += k
        kpid.wait_until(lambda: kpid.counter_sum("events_received") >= len(events), timeout=30, what="the events")
        s.send(json.dumps(tick).encode())
        kpid.wait_until(lambda: kpid.counter_sum("events_received") >= len(events) + 1, timeout=30, what="the tick")
        s.close()
    finally:
        ctx.term()
    kpid.stop()

    # The watermark rule, in arrival order, per metric (a rolling event is late when its pane
    # ended at or before the watermark).
    accepted = {name: [] for name, *_ in ROLLING}
    late = {}
    max_ts = None
    for e in events:
        max_ts = e["ts"] if max_ts is None else max(max_ts, e["ts"])
        for name, _, _, _, step, _, _ in ROLLING:
            if pane_end(e["ts"], step) <= max_ts - LATENESS_MS:
                late[name] = late.get(name, 0) + 1
            else:
                accepted[name].append(e)
    watermark = tick["ts"] - LATENESS_MS

    actual = kpid.aggregate_rows()
    db = duckdb.connect()
    problems = []
    for name, _, group_by, span, step, text, sql in ROLLING:
        db.execute("CREATE OR REPLACE TABLE ev (ts BIGINT, retailer VARCHAR, duration_ms BIGINT, user_id BIGINT)")
        values = ", ".join(f"({e['ts']}, '{e['retailer']}', {e['duration_ms']}, {e['user']})" for e in accepted[name])
        db.execute(f"INSERT INTO ev VALUES {values}")
        lo = min(pane_end(e["ts"], step) for e in accepted[name])
        hi = max(pane_end(e["ts"], step) for e in accepted[name]) + span
        keys = ", ".join(group_by)
        query = f"""
            SELECT b.range AS boundary, {keys + ',' if keys else ''} {sql} AS value, count(*) AS samples
              FROM range({lo}, {hi}, {step}) b JOIN ev ON ev.ts >= b.range - {span} AND ev.ts < b.range
             GROUP BY ALL"""
        expected = {}
        for row in db.execute(query).fetchall():
            boundary, *labels, value, samples = row
            key = (name, f"rolling:{text}", rfc3339_utc(boundary - span), canonical_labels(dict(zip(group_by, labels))))
            expected[key] = (rfc3339_utc(boundary), float(value), samples, 1 if boundary <= watermark else 0)
        got = {k: v for k, v in actual.items() if k[0] == name}
        assert len(expected) > 20, name
        for k in sorted(set(expected) | set(got)):
            if k not in got:
                problems.append(f"missing {k}: {expected[k]}")
            elif k not in expected:
                problems.append(f"unexpected {k}: {got[k]}")
            else:
                e_end, e_val, e_samples, e_final = expected[k]
                a_end, a_val, a_samples, a_final = got[k]
                if (a_end, a_samples, a_final) != (e_end, e_samples, e_final) or not math.isclose(a_val, e_val, rel_tol=1e-9):
                    problems.append(f"{k}: got {got[k]}, expected {expected[k]}")
    assert not problems, f"{len(problems)} rolling rows differ from DuckDB:\n" + "\n".join(problems[:40])

    counters = kpid.counters()
    got_late = {json.loads(lab)["metric"]: v for (n, lab), v in counters.items() if n == "late_events" and v}
    assert {k: v for k, v in got_late.items() if k in accepted} == late and late, (got_late, late)

    # The cap: the first CAP routes in arrival order keep their label sets, the rest overflow.
    # (capped has minute windows: an event is late when its minute ended at or before the watermark.)
    admitted, per_key, overflowed, max_ts = [], {}, 0, None
    for e in events:
        max_ts = e["ts"] if max_ts is None else max(max_ts, e["ts"])
        minute_start = e["ts"] - e["ts"] % MINUTE_MS
        if minute_start + MINUTE_MS <= max_ts - LATENESS_MS:
            continue
        labels = canonical_labels({"route": e["route"]})
        if labels not in admitted and len(admitted) < CAP:
            admitted.append(labels)
        if labels not in admitted:
            labels = '{"__overflow__":"true"}'
            overflowed += 1
        k = ("capped", "minute", rfc3339_utc(minute_start), labels)
        per_key[k] = per_key.get(k, 0) + 1
    got_capped = {k: int(v[1]) for k, v in actual.items() if k[0] == "capped"}
    assert got_capped == per_key
    assert overflowed > 0
    assert kpid.counter("label_overflow", metric="capped") == overflowed
    logs = kpid.logs(tail=1_000_000)
    warnings = [line for line in logs.splitlines() if "max_label_sets" in line and "level=warning" in line]
    overflow_minutes = {k[2] for k in per_key if k[3] == '{"__overflow__":"true"}'}
    assert len(warnings) == len(overflow_minutes), warnings[:5]
