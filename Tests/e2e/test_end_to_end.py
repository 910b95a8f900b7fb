"""Test 1: a seeded random stream through three publishers; every aggregates row is checked
against an independent Python computation (zoneinfo calendar windows, json.dumps labels)."""
from __future__ import annotations

import json
import math
import random
import subprocess
import threading
import time
from collections import Counter

import pytest
import zmq

from kpid_harness import push_messages, toml_config
from kpid_replica import (
    Metric, Replica, ZoneInfo, cmp_num, cmp_str, compare_rows, exists, format_ts, in_list,
    parse_rfc3339, prefix, pure, summarize,
)

SEED = 20261101
N_EVENTS = 20_000
DEFAULT_ZONE = "Europe/Paris"   # a non-UTC default exercises the [kpid] time_zone fallback

T0 = parse_rfc3339("2026-10-22T00:00:00Z")
T1 = parse_rfc3339("2026-11-04T00:00:00Z")
# DST ends, local midnights, ISO week starts and month starts in the zones of the metrics.
HOT = [parse_rfc3339(s) for s in [
    "2026-10-23T21:00:00Z",  # Beirut: Sat 24 Oct 00:00 EEST (a 25 h day)
    "2026-10-24T20:00:00Z",  # Beirut: 23:00 EEST, the first of the two 23:00 hours
    "2026-10-24T21:00:00Z",  # Beirut: DST ends, clocks 00:00 EEST -> 23:00 EET
    "2026-10-24T22:00:00Z",  # Beirut: Sun 25 Oct 00:00 EET
    "2026-10-25T00:00:00Z",  # UTC midnight
    "2026-10-25T01:00:00Z",  # Paris: DST ends, 03:00 CEST -> 02:00 CET
    "2026-10-25T22:00:00Z",  # Beirut: Monday 26 Oct 00:00 (ISO week)
    "2026-10-25T23:00:00Z",  # Paris: Monday 26 Oct 00:00
    "2026-10-26T00:00:00Z",  # UTC: Monday 26 Oct
    "2026-10-26T04:00:00Z",  # New York: Monday 26 Oct 00:00 EDT
    "2026-10-31T22:00:00Z",  # Beirut: 1 Nov 00:00
    "2026-10-31T23:00:00Z",  # Paris: 1 Nov 00:00
    "2026-11-01T00:00:00Z",  # UTC: 1 Nov
    "2026-11-01T04:00:00Z",  # New York: 1 Nov 00:00 EDT (month start, a 25 h day)
    "2026-11-01T05:00:00Z",  # New York: 01:00 EDT, the first 01:00 hour
    "2026-11-01T06:00:00Z",  # New York: DST ends, 02:00 EDT -> 01:00 EST
    "2026-11-01T07:00:00Z",  # New York: 02:00 EST
    "2026-11-01T22:00:00Z",  # Beirut: Monday 2 Nov
    "2026-11-01T23:00:00Z",  # Paris: Monday 2 Nov
    "2026-11-02T00:00:00Z",  # UTC: Monday 2 Nov
    "2026-11-02T05:00:00Z",  # New York: Monday 2 Nov 00:00 EST
]]
TS_ZONES = [ZoneInfo(z) for z in ("America/New_York", "Asia/Beirut", "Europe/Paris", "Asia/Kolkata")]

RETAILERS = ["ayoub", "café-ø", 'o"neil', "zed", "🛒shop", "back\\slash", "north"]
ROUTES = ["/api/search", "/api/items", "/health", "/internal/metrics", "/api/ü"]
TENANTS = ["t1", "t2", "t3"]

METRICS = [
    Metric("outbound_clicks", ["click"], "count", ["day"], ["retailer"], time_zone="Asia/Beirut"),
    Metric("weekly_visitors", ["click"], "distinct(visitor)", ["week"]),
    Metric("http_requests", ["http.request"], "count", ["hour"], ["route"]),
    Metric("http_5xx", ["http.request"], "count", ["hour"], ["tenant"], time_zone="America/New_York",
           filter="status >= 500", predicate=lambda e: cmp_num(e, "status", ">=", 500)),
    Metric("latency_avg_ms", ["http.request"], "avg(duration_ms)", ["day", "hour"], ["route"], time_zone="UTC"),
    Metric("latency_min_ms", ["http.request"], "min(duration_ms)", ["day"], ["route"]),
    Metric("latency_max_ms", ["http.request"], "max(duration_ms)", ["day"], ["route"], time_zone="America/New_York"),
    Metric("latency_sum_ms", ["http.request"], "sum(duration_ms)", ["day"], ["route"], time_zone="Asia/Beirut"),
    Metric("clicks_monthly", ["click"], "count", ["month", "week"], ["status"], time_zone="America/New_York"),
    Metric("clicks_by_flags", ["click"], "count", ["day"], ["sponsored", "price_tier"], time_zone="UTC"),
    Metric("premium_clicks", ["click"], "count", ["day"], ["retailer"], time_zone="America/New_York",
           filter='(retailer in ["ayoub", "café-ø"] or prefix(listing, "promo-")) '
                  'and not (status in [404, 410] or status >= 500) and exists(listing)',
           predicate=lambda e: (pure(in_list(e, "retailer", ["ayoub", "café-ø"])) or pure(prefix(e, "listing", "promo-")))
           and not (pure(in_list(e, "status", [404, 410])) or pure(cmp_num(e, "status", ">=", 500)))
           and exists(e, "listing")),
    Metric("tenant_time_ms", ["http.request"], "sum(duration_ms)", ["day"], ["tenant"], time_zone="Asia/Beirut",
           filter='tenant != "t3" and route != "/health" and not prefix(route, "/internal")',
           predicate=lambda e: cmp_str(e, "tenant", "!=", "t3") and cmp_str(e, "route", "!=", "/health")
           and not prefix(e, "route", "/internal")),
    Metric("events_hourly_beirut", ["click", "http.request"], "count", ["hour"], time_zone="Asia/Beirut"),
]


def gen_ts(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.55:
        return rng.randrange(T0, T1)
    if r < 0.90:
        return rng.choice(HOT) + rng.randrange(-3 * 3_600_000, 3 * 3_600_000)
    return rng.choice(HOT) + rng.choice([0, 0, -1, 1, -1000, 999, 59_999, -60_000])


def gen_event(rng: random.Random) -> tuple[str, int, dict]:
    ts = gen_ts(rng)
    r = rng.random()
    if r < 0.45:
        etype = "click"
        e: dict = {"retailer": rng.choice(RETAILERS)}
        n = rng.randrange(300)
        v = rng.random()
        e["visitor"] = n if v < 0.05 else (str(n) if v < 0.10 else (float(n) if v < 0.12 else f"v{n}"))
        v = rng.random()
        if v < 0.10:
            e["listing"] = f"promo-{rng.randrange(50)}"
        elif v < 0.95:
            e["listing"] = f"{e['retailer']}-{rng.randrange(50)}"
        st = rng.choice([200] * 12 + [301, 404, 410, 500, 503, "absent", None, 200.0])
        if st != "absent":
            e["status"] = st
        sp = rng.choice([True, False, "absent"])
        if sp != "absent":
            e["sponsored"] = sp
        pt = rng.choice([0.25, 1.5, 3, 10, -2.5, 1e-05, 123456.789, "absent", None])
        if pt != "absent":
            e["price_tier"] = pt
    elif r < 0.90:
        etype = "http.request"
        e = {"route": rng.choice(ROUTES)}
        st = rng.choice([200] * 8 + [201, 404, 429, 500, 502, 503])
        if rng.random() < 0.01:
            st = "503"   # a string where http_5xx compares a number: wrong_field_type for that metric
        e["status"] = st
        v = rng.random()
        if v > 0.04:
            e["tenant"] = rng.choice(TENANTS)
        elif v > 0.02:
            e["tenant"] = None   # null: `tenant != "t3"` is true, the label is JSON null
        v = rng.random()
        if v < 0.01:
            pass                                  # absent: missing_field for duration metrics
        elif v < 0.02:
            e["duration_ms"] = None               # null: missing_field
        elif v < 0.03:
            e["duration_ms"] = "12.5"             # string: wrong_field_type
        elif v < 0.25:
            e["duration_ms"] = rng.randrange(1, 5000)
        else:
            e["duration_ms"] = round(rng.lognormvariate(3.5, 1.2), 3)
    else:
        etype = "page.view"
        e = {"visitor": f"v{rng.randrange(300)}", "path": rng.choice(["/", "/a", "/b"])}
    return etype, ts, e


def wire(etype: str, ts: int, fields: dict, rng: random.Random, with_type: bool = True) -> dict:
    """The JSON object as published: ts spelled several ways, keys in varying order."""
    style = rng.random()
    if style < 0.65:
        t = format_ts(ts, "epoch")
    elif style < 0.80:
        t = format_ts(ts, "rfc")
    else:
        t = format_ts(ts, "rfc", rng.choice(TS_ZONES))
    items = list(fields.items()) + [("ts", t)]
    if with_type:
        items.append(("type", etype))
    rng.shuffle(items)
    return dict(items)


def dumps(obj: dict, rng: random.Random) -> str:
    return json.dumps(obj, ensure_ascii=rng.random() < 0.3)


@pytest.mark.parametrize("decode_ahead", [True, False], ids=["decode_ahead", "inline"])
def test_end_to_end_matches_independent_computation(kpid_factory, kpictl_bin, free_ports, short_tmp, decode_ahead):
    """Both ways of parsing: with decode_ahead, NDJSON messages of 2 KiB and more are parsed on
    kpid's decoder thread (the rest inline, interleaved with them); without, all inline."""
    rng = random.Random(SEED)
    events = [gen_event(rng) for _ in range(N_EVENTS)]

    # ---- who publishes what -------------------------------------------------------------------
    pub_events, push_events, ctl_mixed, ctl_http = [], [], [], []
    for ev in events:
        r = rng.random()
        if ev[0] == "http.request" and r < 0.2:
            ctl_http.append(ev)
        elif r < 0.45:
            pub_events.append(ev)
        elif r < 0.80:
            push_events.append(ev)
        else:
            ctl_mixed.append(ev)

    # PUB messages: single objects, topic + object, NDJSON, topic + NDJSON of one type.
    pub_msgs: list[list[bytes]] = []
    i = 0
    while i < len(pub_events):
        form = rng.random()
        if form < 0.25:
            et, ts, f = pub_events[i]
            pub_msgs.append([dumps(wire(et, ts, f, rng), rng).encode()])
            i += 1
        elif form < 0.5:
            et, ts, f = pub_events[i]
            pub_msgs.append([et.encode(), dumps(wire(et, ts, f, rng, with_type=rng.random() < 0.5), rng).encode()])
            i += 1
        elif form < 0.75:
            k = rng.randrange(2, 60)
            chunk = pub_events[i:i + k]
            pub_msgs.append(["\n".join(dumps(wire(*ev, rng), rng) for ev in chunk).encode()])
            i += len(chunk)
        else:
            k = rng.randrange(2, 40)
            chunk = pub_events[i:i + k]
            by_type: dict[str, list] = {}
            for ev in chunk:
                by_type.setdefault(ev[0], []).append(ev)
            for et, evs in by_type.items():
                body = "\n".join(dumps(wire(*ev, rng, with_type=rng.random() < 0.5), rng) for ev in evs)
                pub_msgs.append([et.encode(), body.encode()])
            i += len(chunk)

    push_msgs: list[bytes] = []
    i = 0
    while i < len(push_events):
        k = rng.randrange(1, 100)
        chunk = push_events[i:i + k]
        body = "\n".join(dumps(wire(*ev, rng), rng) for ev in chunk)
        if rng.random() < 0.2:
            body += "\n"   # NDJSON producers usually end with a newline
        push_msgs.append(body.encode())
        i += len(chunk)

    work = short_tmp
    mixed_file = work / "mixed.ndjson"
    mixed_file.write_text("".join(dumps(wire(*ev, rng), rng) + "\n" for ev in ctl_mixed), encoding="utf-8")
    http_file = work / "http.ndjson"
    http_file.write_text("".join(dumps(wire(*ev, rng, with_type=rng.random() < 0.3), rng) + "\n" for ev in ctl_http),
                         encoding="utf-8")
    ctl_batch = 37

    # ---- the daemon ---------------------------------------------------------------------------
    web_port, api_port = free_ports(2)
    api_ipc = f"ipc://{work}/api.sock"
    config = toml_config(
        kpid={"time_zone": DEFAULT_ZONE, "allowed_lateness": "30d", "flush_interval": "200ms", "max_future": "3650d",
              "decode_ahead": decode_ahead},
        sources=[
            {"name": "web", "kind": "sub", "bind": [f"tcp://127.0.0.1:{web_port}"], "subscribe": [""]},
            {"name": "api", "kind": "pull", "bind": [f"tcp://127.0.0.1:{api_port}", api_ipc]},
        ],
        metrics=[m.toml() for m in METRICS],
    )
    kpid = kpid_factory(config)

    ctx = zmq.Context()
    try:
        pub = ctx.socket(zmq.PUB)
        pub.setsockopt(zmq.SNDHWM, 0)
        pub.setsockopt(zmq.LINGER, 10_000)
        pub.connect(f"tcp://127.0.0.1:{web_port}")

        # Slow joiner: publish warm-up events (a type no metric reads) until kpid counts one, then
        # wait until the count is stable so the baseline is exact.
        warm = json.dumps({"type": "kpid.warmup", "ts": T0}).encode()
        other_web = lambda: kpid.counter("events_received", source="web", type="(other)")
        deadline = time.monotonic() + 20
        while other_web() == 0:
            assert time.monotonic() < deadline, f"no warm-up event arrived through the sub source\n{kpid.logs()}"
            assert kpid.alive(), kpid.logs()
            pub.send(warm)
            time.sleep(0.05)
        stable, last = 0, -1
        while stable < 4:
            time.sleep(0.3)
            cur = other_web()
            stable = stable + 1 if cur == last else 0
            last = cur
        warmups = last
        assert kpid.counter("messages_received", source="web") == warmups

        # PUSH in a thread, two kpictl publishers as processes, PUB from here: all at once.
        pusher = threading.Thread(target=push_messages, args=(f"tcp://127.0.0.1:{api_port}", push_msgs))
        pusher.start()
        ctl1 = subprocess.Popen([kpictl_bin, "publish", "--endpoint", api_ipc, "--socket", "push",
                                 "--file", str(mixed_file), "--batch", str(ctl_batch)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        with open(http_file, "rb") as http_in:
            ctl2 = subprocess.Popen([kpictl_bin, "publish", "--endpoint", f"tcp://127.0.0.1:{api_port}",
                                     "--socket", "push", "--topic", "http.request", "--batch", "1"],
                                    stdin=http_in, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for m in pub_msgs:
            pub.send_multipart(m)
        pusher.join(timeout=60)
        assert not pusher.is_alive(), "the PUSH publisher did not finish"
        for name, p in (("kpictl publish --file", ctl1), ("kpictl publish (stdin)", ctl2)):
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0, f"{name} exited {p.returncode}: {err.decode(errors='replace')}"

        expected_total = warmups + N_EVENTS
        kpid.wait_until(lambda: kpid.counter_sum("events_received") >= expected_total, timeout=60,
                        what=f"events_received to reach {expected_total}")
        time.sleep(0.5)   # anything beyond the expected count would show up now
        pub.close()
    finally:
        ctx.term()

    counters_before_stop = kpid.counters()
    kpid.stop()
    ahead = kpid.counter_sum("messages_decoded_ahead")
    if decode_ahead:
        big = sum(1 for m in push_msgs if len(m) >= 2048)
        assert ahead >= big > 0, f"{ahead} messages parsed ahead, {big} PUSH messages of 2 KiB or more"
    else:
        assert ahead == 0, ahead

    # ---- the independent computation ----------------------------------------------------------
    replica = Replica(METRICS, DEFAULT_ZONE, allowed_lateness_ms=30 * 86_400_000)
    for et, ts, f in events:
        replica.ingest(et, ts, f)
    expected = replica.rows()
    actual = kpid.aggregate_rows()
    problems = compare_rows(expected, actual)
    assert not problems, "aggregates differ from the independent computation: " + summarize(problems)
    assert len(actual) == len(expected)
    # Every metric produced rows (a guard against a vacuous comparison).
    assert {k[0] for k in expected} == {m.name for m in METRICS}

    # ---- counters -----------------------------------------------------------------------------
    counters = kpid.counters()
    assert counters_before_stop.get(("events_received", '{"source":"web","type":"(other)"}')) == \
        counters.get(("events_received", '{"source":"web","type":"(other)"}'))
    read_types = replica.types()

    def ev_key(et):
        return et if et in read_types else "(other)"

    want_received: Counter = Counter()
    for et, _, _ in pub_events:
        want_received[("web", ev_key(et))] += 1
    want_received[("web", "(other)")] += warmups
    for et, _, _ in push_events + ctl_mixed + ctl_http:
        want_received[("api", ev_key(et))] += 1
    got_received = Counter()
    for (name, labels), v in counters.items():
        if name == "events_received" and v:
            lab = json.loads(labels)
            assert set(lab) == {"source", "type"}, labels
            got_received[(lab["source"], lab["type"])] = v
    assert got_received == want_received

    want_messages = {"web": warmups + len(pub_msgs),
                     "api": len(push_msgs) + math.ceil(len(ctl_mixed) / ctl_batch) + len(ctl_http)}
    assert kpid.counter("messages_received", source="web") == want_messages["web"]
    assert kpid.counter("messages_received", source="api") == want_messages["api"]

    late = {json.loads(lab)["metric"]: v for (n, lab), v in counters.items() if n == "late_events" and v}
    assert late == {}, f"no event can be late with allowed_lateness = 30d: {late}"
    assert kpid.counter("ts_missing") == 0

    got_mr = {}
    for (n, lab), v in counters.items():
        if n == "metric_rejects" and v:
            d = json.loads(lab)
            got_mr[(d["metric"], d["reason"])] = v
    assert got_mr == replica.metric_rejects
    assert replica.metric_rejects, "the stream must exercise per-metric rejects"

    event_level = {json.loads(lab)["reason"]: v for (n, lab), v in counters.items()
                   if n == "rejects" and v and json.loads(lab)["reason"] not in ("wrong_field_type", "missing_field")}
    assert event_level == {}, f"valid events were rejected: {event_level}"
