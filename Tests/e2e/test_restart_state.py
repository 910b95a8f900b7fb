"""kpid resumes exactly where its last committed flush left off: open windows, distinct sets,
dedupe keys and the watermark survive SIGKILL and SIGTERM restarts, and nothing is counted twice.

Each phase PUSHes a slice of one seeded event stream (pyzmq), waits until the flush holding the
slice is committed (the `events_received` counter is written in the same transaction as the
state), then kills kpid with SIGKILL (or stops it with SIGTERM) and starts it again on the same
database. At the end every row must equal an independent computation over the whole stream, as
if kpid had never stopped."""
from __future__ import annotations

import json
import random
import threading
import time

import zmq

from kpid_harness import push_ndjson, toml_config
from kpid_replica import HOUR_MS, Metric, Replica, compare_rows, rfc3339_utc, summarize, window

DEDUPE_MS = 300_000

METRICS = [
    Metric("orders", ["order"], "count", ["minute", "hour"], ["shop"]),
    Metric("revenue", ["order"], "sum(total)", ["hour"]),
    Metric("weekly_visitors", ["click"], "distinct(visitor)", ["week", "day"]),
    Metric("clicks", ["click"], "count", ["hour"], ["listing"]),
]


def stream(base: int, n: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out, t = [], base
    for _ in range(n):
        t += rng.randrange(0, 2_500)
        ts = t - (rng.randrange(0, 30_000) if rng.random() < 0.1 else 0)   # out of order, never late
        if rng.random() < 0.3:
            out.append({"type": "order", "ts": ts, "shop": rng.choice(["s1", "s2", "s3"]),
                        "total": rng.choice([5, 12.5, 99.99, 1])})
        else:
            out.append({"type": "click", "ts": ts, "visitor": f"v{rng.randrange(400)}",
                        "listing": f"l{rng.randrange(4)}"})
    return out


def qualified(events: list[dict], restarts: list[int] | None = None) -> dict[int, int]:
    """Qualified clicks per hour start under kpid's dedupe rule (|t - last counted| < 5 min is a
    duplicate; only counted clicks are remembered). With `restarts`, the memory is wiped at those
    event indices: what a kpid that lost its dedupe keys would count."""
    last: dict[tuple, int] = {}
    per_hour: dict[int, int] = {}
    for i, e in enumerate(events):
        if restarts and i in restarts:
            last = {}
        if e["type"] != "click":
            continue
        k = (e["visitor"], e["listing"])
        t = e["ts"]
        if k in last and abs(t - last[k]) < DEDUPE_MS:
            continue
        last[k] = max(t, last.get(k, t))
        h = t // HOUR_MS * HOUR_MS
        per_hour[h] = per_hour.get(h, 0) + 1
    return per_hour


def config(port: int) -> str:
    return toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "1h", "flush_interval": "200ms", "max_future": "10m"},
        sources=[{"name": "app", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"]}],
        pipelines=[{"name": "q", "events": ["click"], "filters": ["duplicate"], "dedupe_key": ["visitor", "listing"],
                    "dedupe_window": "5m"}],
        metrics=[m.toml() for m in METRICS]
        + [{"name": "qualified_clicks", "pipeline": "q", "aggregate": "count", "windows": ["hour"]}],
    )


def run_phases(kpid_factory, free_ports, stop_how: str) -> None:
    now = int(time.time() * 1000)
    events = stream(now - 3 * HOUR_MS, 6_000, seed=11)
    cuts = [0, 1_500, 3_000, 4_500, len(events)]
    port, = free_ports(1)
    kpid = kpid_factory(config(port), start=False)
    endpoint = f"tcp://127.0.0.1:{port}"
    for p in range(len(cuts) - 1):
        kpid.start()
        if p > 0:
            assert 'msg="state restored"' in kpid.stdout_path.read_text(), kpid.logs()
        push_ndjson(kpid, endpoint, events[cuts[p]:cuts[p + 1]], batch=50)
        # The flush that counted the last event received also holds the state it produced.
        kpid.wait_until(lambda: kpid.counter_sum("events_received") == cuts[p + 1], timeout=30, what="committed flush")
        if stop_how == "kill" and p < len(cuts) - 2:
            kpid.kill()
        else:
            kpid.stop()

    replica = Replica(METRICS, "UTC", HOUR_MS)
    for e in events:
        replica.ingest(e["type"], e["ts"], e)
    rows = kpid.aggregate_rows()
    plain = {k: v for k, v in rows.items() if k[0] in {m.name for m in METRICS}}
    problems = compare_rows(replica.rows(), plain)
    assert not problems, f"after {len(cuts) - 2} restarts ({stop_how}): " + summarize(problems)

    expected = {rfc3339_utc(h): n for h, n in qualified(events).items()}
    got = {k[2]: int(v[1]) for k, v in rows.items() if k[0] == "qualified_clicks"}
    assert got == expected, "qualified clicks (dedupe keys across restarts)"
    # The scenario is one where losing state would show: without the dedupe keys the qualified
    # counts differ, and without the distinct sets the weekly visitors would be undercounted.
    assert qualified(events, restarts=cuts[1:-1]) != qualified(events), "no duplicate spans a restart"
    week_key = next(k for k in rows if k[0] == "weekly_visitors" and k[1] == "week")
    last_phase = {e["visitor"] for e in events[cuts[-2]:] if e["type"] == "click"
                  and rfc3339_utc(window(e["ts"], "week", "UTC")[0]) == week_key[2]}
    assert rows[week_key][1] > len(last_phase), "the weekly set holds visitors of earlier runs"


def test_sigkill_restarts_resume_windows_distinct_sets_and_dedupe_keys(kpid_factory, free_ports):
    run_phases(kpid_factory, free_ports, "kill")


def test_sigterm_restarts_resume_windows_distinct_sets_and_dedupe_keys(kpid_factory, free_ports):
    run_phases(kpid_factory, free_ports, "term")


def test_a_changed_metric_starts_empty_and_the_others_keep_their_state(kpid_factory, free_ports):
    now = int(time.time() * 1000)
    base = now // HOUR_MS * HOUR_MS - HOUR_MS
    port, = free_ports(1)
    endpoint = f"tcp://127.0.0.1:{port}"
    kpid = kpid_factory(config(port))
    first = [{"type": "order", "ts": base + i * 1000, "shop": "s1", "total": 2} for i in range(100)]
    push_ndjson(kpid, endpoint, first)
    kpid.wait_until(lambda: kpid.counter_sum("events_received") == 100, timeout=30, what="committed flush")
    kpid.stop()
    # revenue now sums per shop: a new definition, so its state is dropped; orders is unchanged.
    text = config(port).replace('name = "revenue"\nevents = ["order"]\naggregate = "sum(total)"',
                                'name = "revenue"\nevents = ["order"]\naggregate = "sum(total)"\ngroup_by = ["shop"]')
    assert text != config(port)
    kpid.config_path.write_text(text)
    kpid.start()
    second = [{"type": "order", "ts": base + 200_000 + i * 1000, "shop": "s1", "total": 3} for i in range(10)]
    push_ndjson(kpid, endpoint, second)
    kpid.wait_until(lambda: kpid.counter_sum("events_received") == 110, timeout=30, what="committed flush")
    kpid.stop()
    rows = kpid.aggregate_rows()
    hour = rfc3339_utc(base)
    assert rows[("orders", "hour", hour, '{"shop":"s1"}')][1] == 110
    assert rows[("revenue", "hour", hour, '{"shop":"s1"}')][1] == 30, "the changed metric started empty"
    assert rows[("revenue", "hour", hour, "{}")][1] == 200, "the old definition's row is left as it was"


def test_ten_sigkills_under_steady_load_carry_distinct_sets_and_dedupe_keys_over(kpid_factory, free_ports):
    """Ten SIGKILLs under a steady PUSH stream of clicks (journal on): each visitor sends 200
    clicks on one listing within ~0.1 s, visitors follow one another. With the weekly distinct
    set and the dedupe keys carried over every crash, no visitor is counted twice, neither in the
    week's distinct visitors nor as a second qualified click; the only shortfall allowed is
    visitors all of whose clicks were in the last commit interval before a kill."""
    port, = free_ports(1)
    config = toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "1h", "flush_interval": "300ms", "max_future": "10m"},
        sources=[{"name": "web", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"], "journal": True}],
        pipelines=[{"name": "q", "events": ["click"], "filters": ["duplicate"], "dedupe_key": ["visitor", "listing"],
                    "dedupe_window": "5m"}],
        metrics=[{"name": "weekly_visitors", "events": ["click"], "aggregate": "distinct(visitor)", "windows": ["week"]},
                 {"name": "qualified", "pipeline": "q", "aggregate": "count", "windows": ["week"]}],
    ) + '\n[journal]\ncommit_interval = "100ms"\n'
    kpid = kpid_factory(config)
    ts = int(time.time() * 1000) - 60_000
    sent: list[tuple[float, int]] = []   # (send time, visitor)
    stop = threading.Event()

    def publish() -> None:
        ctx = zmq.Context()
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 10_000)
        s.connect(f"tcp://127.0.0.1:{port}")
        k = 0
        while not stop.is_set():
            visitor = k // 20
            line = json.dumps({"type": "click", "ts": ts, "visitor": f"v{visitor}", "listing": "l1"}).encode()
            s.send(b"\n".join([line] * 10))
            sent.append((time.monotonic(), visitor))
            k += 1
            time.sleep(0.005)
        s.close()
        ctx.term()

    t = threading.Thread(target=publish, daemon=True)
    t.start()
    kills: list[float] = []
    try:
        kills = kpid.sigkill_restarts(10, between=(1.0, 2.0), seed=5)
    finally:
        stop.set()
        t.join(timeout=30)
    time.sleep(1.0)
    kpid.stop()

    window = 0.35   # the commit interval, plus a margin for the writer's queue and loopback delivery
    visitors = {v for _, v in sent}
    safe = {v for at, v in sent if not any(k - window < at <= k for k in kills)}
    rows = kpid.aggregate_rows()
    [distinct] = [v[1] for k, v in rows.items() if k[0] == "weekly_visitors"]
    [qualified] = [v[1] for k, v in rows.items() if k[0] == "qualified"]
    assert len(safe) <= distinct <= len(visitors), (len(safe), distinct, len(visitors))
    assert len(safe) <= qualified <= len(visitors), "a visitor's click counted twice: dedupe keys lost in a crash"
    # What a kpid without carried-over state would report: the visitors since the last start.
    assert len(visitors) - len({v for at, v in sent if at > kills[-1]}) > len(visitors) - len(safe)
