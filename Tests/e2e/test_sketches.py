"""Quantiles and large distinct counts through the real daemon: latencies published over ZeroMQ,
the stored p50/p95/p99 rows compared with the exact quantiles computed here in pure Python (the
value at rank ceil(q*n) of the sorted values, the definition the README documents), the distinct
rows' `estimated` flag, and the per-metric rejects of bad latencies."""
from __future__ import annotations

import json
import math
import random
import subprocess
import time

import zmq

from kpid_harness import toml_config

HOUR_MS = 3_600_000
QS = [0.5, 0.95, 0.99]


def exact_quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    x = q * len(s)
    rank = max(1, math.ceil(x - x * 1e-12))
    return s[rank - 1]


def test_quantile_and_distinct_rows_match_an_exact_computation(kpid_factory, free_ports):
    now = int(time.time() * 1000)
    hour = (now // HOUR_MS) * HOUR_MS - 3 * HOUR_MS
    rng = random.Random(20261123)

    events = []
    latencies: dict[str, list[float]] = {"/search": [], "/items": []}
    users: dict[str, set[str]] = {"t1": set(), "t2": set()}
    for i in range(6_000):
        route = "/search" if rng.random() < 0.6 else "/items"
        # Lognormal latencies in ms, as decimals with 3 digits (as JSON carries them).
        ms = round(math.exp(rng.gauss(3.5 if route == "/search" else 5, 0.9)), 3)
        latencies[route].append(ms)
        tenant = "t1" if i % 3 else "t2"
        # t1: 4,000 events over 1,500 users (over the 1,000 cap); t2: 2,000 events over 400 users.
        user = f"u{rng.randrange(1500 if tenant == 't1' else 400)}"
        users[tenant].add(user)
        events.append({"type": "http.request", "ts": hour + rng.randrange(HOUR_MS), "route": route,
                       "duration_ms": ms, "tenant": tenant, "user": user})
    # Bad latencies: each refused by the quantile metrics only, still counted by `requests`.
    bad = [
        {"type": "http.request", "ts": hour + 1, "route": "/search", "duration_ms": -3, "tenant": "t1", "user": "u0"},
        {"type": "http.request", "ts": hour + 2, "route": "/search", "duration_ms": "12", "tenant": "t1", "user": "u0"},
    ]

    port, = free_ports(1)
    config = toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "1m", "flush_interval": "200ms"},
        sources=[{"name": "feed", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"]}],
        metrics=[
            {"name": "latency", "events": ["http.request"], "aggregate": "quantile(duration_ms, 0.99, 0.5, 0.95)",
             "group_by": ["route"], "windows": ["hour"]},
            {"name": "latency_median", "events": ["http.request"], "aggregate": "median(duration_ms)",
             "windows": ["hour"]},
            {"name": "requests", "events": ["http.request"], "aggregate": "count", "windows": ["hour"]},
            {"name": "users", "events": ["http.request"], "aggregate": "distinct(user)", "group_by": ["tenant"],
             "windows": ["hour"], "distinct_exact_max": 1000},
        ],
    )
    kpid = kpid_factory(config)
    ctx = zmq.Context()
    try:
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 10_000)
        s.connect(f"tcp://127.0.0.1:{port}")
        for i in range(0, len(events), 100):
            s.send("\n".join(json.dumps(e) for e in events[i:i + 100]).encode())
        for e in bad:
            s.send(json.dumps(e).encode())
        total = len(events) + len(bad)
        kpid.wait_until(lambda: kpid.counter_sum("events_received") >= total, timeout=30,
                        what=f"events_received to reach {total}")
        s.close()
    finally:
        ctx.term()
    kpid.stop()

    conn = kpid.db()
    rows = conn.execute("SELECT metric, labels, value, samples, estimated FROM aggregates WHERE period = 'hour'").fetchall()
    conn.close()
    by = {(r["metric"], r["labels"]): r for r in rows}

    for route, values in latencies.items():
        for q in QS:
            label = json.dumps({"quantile": str(q), "route": route}, sort_keys=True, separators=(",", ":"))
            r = by[("latency", label)]
            want = exact_quantile(values, q)
            assert abs(r["value"] - want) / want <= 0.01, f"{route} q={q}: stored {r['value']}, exact {want}"
            assert r["samples"] == len(values)
            assert r["estimated"] == 1
    everything = latencies["/search"] + latencies["/items"]
    r = by[("latency_median", '{"quantile":"0.5"}')]
    assert abs(r["value"] - exact_quantile(everything, 0.5)) / exact_quantile(everything, 0.5) <= 0.01
    assert by[("requests", "{}")]["value"] == total

    t1, t2 = by[("users", '{"tenant":"t1"}')], by[("users", '{"tenant":"t2"}')]
    # The two bad events are user u0 of t1: `users` still counts them.
    assert len(users["t1"]) > 1000 >= len(users["t2"])
    assert t2["estimated"] == 0 and t2["value"] == len(users["t2"])
    assert t1["estimated"] == 1
    # 3 standard errors of a precision-14 HyperLogLog.
    assert abs(t1["value"] - len(users["t1"] | {"u0"})) <= 3 * 0.0081 * len(users["t1"])

    assert kpid.counter("metric_rejects", metric="latency", reason="negative_value") == 1
    assert kpid.counter("metric_rejects", metric="latency", reason="wrong_field_type") == 1
    assert kpid.counter("metric_rejects", metric="latency_median", reason="negative_value") == 1
    assert kpid.counter("rejects", source="feed", reason="negative_value") == 1
    conn = kpid.db()
    reasons = {r[0] for r in conn.execute("SELECT reason FROM rejects").fetchall()}
    conn.close()
    assert {"negative_value", "wrong_field_type"} <= reasons


BAD_SKETCH_CONFIGS = [
    # (id, metric lines, key, line of the bad key, message fragment)
    ("quantile_above_one", ['aggregate = "quantile(duration_ms, 0.5, 1.5)"'], "metrics[0].aggregate", 14, "quantile 1.5 is out of range"),
    ("quantile_zero", ['aggregate = "quantile(duration_ms, 0)"'], "metrics[0].aggregate", 14, "quantile 0 is out of range"),
    ("quantile_without_field", ['aggregate = "quantile(0.95)"'], "metrics[0].aggregate", 14, "quantile needs a field first"),
    ("exact_max_on_sum", ['aggregate = "sum(duration_ms)"', "distinct_exact_max = 10"], "metrics[0].distinct_exact_max", 15,
     "applies only to distinct"),
]


def test_bad_sketch_configs_exit_78_naming_key_and_line(kpid_bin, tmp_path, free_ports):
    for name, metric_lines, key, line, fragment in BAD_SKETCH_CONFIGS:
        port, = free_ports(1)
        lines = [
            "[kpid]",                                   # 1
            'time_zone = "UTC"',                        # 2
            "",                                         # 3
            "[[sources]]",                              # 4
            'name = "feed"',                            # 5
            'kind = "pull"',                            # 6
            f'bind = ["tcp://127.0.0.1:{port}"]',       # 7
            "",                                         # 8
            "[[metrics]]",                              # 9
            'name = "latency"',                         # 10
            'events = ["http.request"]',                # 11
            'windows = ["hour"]',                       # 12
            'group_by = ["route"]',                     # 13
        ] + metric_lines                                # 14, 15
        config = tmp_path / f"{name}.toml"
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        proc = subprocess.run([kpid_bin, "--config", str(config), "--db", str(tmp_path / f"{name}.db")],
                              cwd=tmp_path, capture_output=True, timeout=20)
        stderr = proc.stderr.decode(errors="replace")
        assert proc.returncode == 78, f"{name}: exit {proc.returncode}\n{stderr}"
        assert f"{name}.toml:{line}: {key}: " in stderr, f"{name}: {stderr}"
        assert fragment in stderr, f"{name}: {stderr}"
