"""conf/examples/api-kpis.toml end to end: a seeded stream of API requests and WebSocket timings
is pushed by pyzmq to the real kpid running the example as shipped; every stored row of its
metrics must equal an independent computation here (counts and ratios exactly, quantiles within
the documented 1% relative error of the exact value at rank ceil(q·n))."""
from __future__ import annotations

import math
import random
from collections import defaultdict

from example_config import example_config
from kpid_harness import push_ndjson
from kpid_replica import HOUR_MS, MINUTE_MS, canonical_labels, parse_rfc3339, rfc3339_utc, window

BASE = parse_rfc3339("2026-11-16T21:30:00Z")  # the stream crosses a UTC midnight
ROUTES = ["/api/search", "/api/listing/:id", "/api/build", "/health"]
TENANTS = ["t1", "t2", "t3"]


def generate(seed: int, n: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        ts = BASE + i * (4 * HOUR_MS // n) + rng.randrange(0, 20_000)
        kind = rng.random()
        if kind < 0.8:
            route = rng.choice(ROUTES)
            # Per route a different latency scale; lognormal tails.
            scale = {"/api/search": 120, "/api/listing/:id": 40, "/api/build": 300, "/health": 2}[route]
            e = {"type": "http.request", "ts": ts, "route": route, "tenant": rng.choice(TENANTS),
                 "duration_ms": round(scale * rng.lognormvariate(0, 0.6), 3),
                 "status": rng.choices([200, 201, 304, 400, 404, 429, 500, 503], [80, 5, 5, 3, 3, 1, 2, 1])[0]}
            c = rng.random()
            if c < 0.5:
                e["cache"] = "hit"
            elif c < 0.7:
                e["cache"] = "miss"
            out.append(e)
        elif kind < 0.9:
            out.append({"type": "ws.subscribe", "ts": ts, "tenant": rng.choice(TENANTS),
                        "latency_ms": round(rng.uniform(1, 60), 3)})
        else:
            out.append({"type": "ws.delivery", "ts": ts, "tenant": rng.choice(TENANTS),
                        "latency_ms": round(20 * rng.lognormvariate(0, 1.0), 3)})
    return out


def exact_quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[max(1, math.ceil(q * len(s))) - 1]


def test_api_kpis_example_matches_an_independent_computation(kpid_factory):
    events = generate(11, 12_000)
    text, endpoints = example_config("api-kpis")
    kpid = kpid_factory(text)
    push_ndjson(kpid, endpoints["api"], events)
    kpid.stop()
    rows = kpid.aggregate_rows()
    extra = {(r["metric"], r["period"], r["window_start"], r["labels"]): r
             for r in kpid._query("SELECT * FROM aggregates")}

    # Counts per tenant per hour and day.
    counts = {m: defaultdict(int) for m in ("requests", "requests_4xx", "requests_5xx")}
    latency = defaultdict(list)
    cache = defaultdict(lambda: [0, 0])  # hour -> [hits, lookups]
    ws = {"ws.subscribe": defaultdict(list), "ws.delivery": defaultdict(list)}
    for e in events:
        ts = e["ts"]
        if e["type"] == "http.request":
            for period in ("hour", "day"):
                key = (period, window(ts, period, "UTC")[0], canonical_labels({"tenant": e["tenant"]}))
                counts["requests"][key] += 1
                if 400 <= e["status"] < 500:
                    counts["requests_4xx"][key] += 1
                if e["status"] >= 500:
                    counts["requests_5xx"][key] += 1
            latency[(window(ts, "hour", "UTC")[0], e["route"])].append(e["duration_ms"])
            if e.get("cache") in ("hit", "miss"):
                h = window(ts, "hour", "UTC")[0]
                cache[h][1] += 1
                cache[h][0] += e["cache"] == "hit"
        else:
            ws[e["type"]][window(ts, "hour", "UTC")[0]].append(e["latency_ms"])

    for m, want in counts.items():
        got = {(k[1], k[2], k[3]): v[1] for k, v in rows.items() if k[0] == m}
        assert got == {(p, rfc3339_utc(w), l): float(n) for (p, w, l), n in want.items()}, m
    assert {k[0] for k in counts["requests"]} == {"hour", "day"}
    assert len({k[1] for k in counts["requests"] if k[0] == "day"}) == 2, "the stream crosses midnight"

    # Error rates: ratio rows carry both counts; a tenant-window without errors has rate 0.
    for rate, num in (("rate_4xx", "requests_4xx"), ("rate_5xx", "requests_5xx")):
        got = {(k[1], k[2], k[3]): r for k, r in extra.items() if k[0] == rate}
        want_keys = {(p, rfc3339_utc(w), l) for (p, w, l) in counts["requests"]}
        assert set(got) == want_keys, rate
        for (p, w, l), r in got.items():
            den = counts["requests"][(p, parse_rfc3339(w), l)]
            n = counts[num].get((p, parse_rfc3339(w), l), 0)
            assert r["denominator"] == den and r["numerator"] == n, (rate, p, w, l)
            assert r["value"] == n / den, (rate, p, w, l)

    # Cache hit rate per hour.
    got = {k[2]: r for k, r in extra.items() if k[0] == "cache_hit_rate"}
    assert got.keys() == {rfc3339_utc(h) for h in cache}
    for h, (hits, lookups) in cache.items():
        r = got[rfc3339_utc(h)]
        assert (r["numerator"], r["denominator"], r["value"]) == (hits, lookups, hits / lookups)

    # Latency quantiles per route per hour, within 1% of the exact value.
    checked = 0
    for (h, route), values in latency.items():
        for q in (0.5, 0.95, 0.99):
            labels = canonical_labels({"route": route, "quantile": str(q)})
            key = ("route_latency", "hour", rfc3339_utc(h), labels)
            assert key in rows, key
            want = exact_quantile(values, q)
            assert abs(rows[key][1] - want) <= 0.01 * want, (key, rows[key][1], want)
            assert rows[key][2] == len(values)
            checked += 1
    assert checked == len(latency) * 3 and checked > 40
    for metric, t in (("ws_subscribe_latency", "ws.subscribe"), ("ws_delivery_latency", "ws.delivery")):
        for h, values in ws[t].items():
            key = (metric, "hour", rfc3339_utc(h), canonical_labels({"quantile": "0.95"}))
            want = exact_quantile(values, 0.95)
            assert abs(rows[key][1] - want) <= 0.01 * want, (key, rows[key][1], want)
