"""Test 5: `kpictl query` prints what the database holds, as JSON, CSV and a table."""
from __future__ import annotations

import csv
import io
import json
import random
import time

from kpid_harness import run_kpictl, toml_config
from kpid_replica import DAY_MS, HOUR_MS, Metric, Replica, compare_rows, rfc3339_utc, summarize

METRICS = [
    Metric("clicks", ["click"], "count", ["day", "hour"], ["retailer"]),
    Metric("spend", ["click"], "avg(price)", ["day"]),
]


def db_rows_as_list(kpid, metric: str) -> list[dict]:
    conn = kpid.db()
    try:
        rows = conn.execute("SELECT metric, period, window_start, window_end, labels, value, samples, final "
                            "FROM aggregates WHERE metric = ?", (metric,)).fetchall()
    finally:
        conn.close()
    return [dict(r) for r in rows]


def key_of(r: dict) -> tuple:
    labels = r["labels"]
    if isinstance(labels, str):
        labels = json.loads(labels)
    return (r["metric"], r["period"], r["window_start"], json.dumps(labels, sort_keys=True))


def norm(r: dict) -> tuple:
    return (r["window_end"], float(r["value"]), int(r["samples"]), int(r["final"]))


def assert_same(output_rows: list[dict], db_rows: list[dict], what: str) -> None:
    got = {key_of(r): norm(r) for r in output_rows}
    want = {key_of(r): norm(r) for r in db_rows}
    assert len(got) == len(output_rows), f"{what}: duplicate rows"
    assert got.keys() == want.keys(), f"{what}: rows differ\nonly in output: {sorted(got.keys() - want.keys())}\n" \
                                      f"only in db: {sorted(want.keys() - got.keys())}"
    for k in want:
        ge, gv, gs, gf = got[k]
        we, wv, ws, wf = want[k]
        assert (ge, gs, gf) == (we, ws, wf), f"{what}: {k}: {got[k]} != {want[k]}"
        assert abs(gv - wv) <= 1e-9 * max(1.0, abs(wv)), f"{what}: {k}: value {gv} != {wv}"


def query(kpictl_bin, kpid, *args: str) -> str:
    p = run_kpictl(kpictl_bin, "query", *args, "--db", str(kpid.db_path))
    assert p.returncode == 0, f"kpictl query {' '.join(args)} exited {p.returncode}: {p.stderr.decode(errors='replace')}"
    return p.stdout.decode()


def test_kpictl_query_formats(kpid_factory, kpictl_bin, free_ports, tmp_path):
    now = int(time.time() * 1000)
    day0 = (now // DAY_MS) * DAY_MS - 6 * DAY_MS
    rng = random.Random(11)
    events = []
    for _ in range(300):
        events.append({"type": "click", "ts": day0 + rng.randrange(0, 5 * DAY_MS),
                       "retailer": rng.choice(["ayoub", "zed", "a,b", 'q"t']), "price": rng.choice([1, 2.5, 9.75])})
    events.sort(key=lambda e: e["ts"])   # in order: some windows final, the last ones open
    half = len(events) // 2
    first = tmp_path / "first.ndjson"     # through a PUB to the sub source, typed by the topic frame
    first.write_text("".join(json.dumps({k: v for k, v in e.items() if k != "type"}) + "\n" for e in events[:half]))
    second = tmp_path / "second.ndjson"   # through a PUSH to the pull source, rate-limited
    second.write_text("".join(json.dumps(e) + "\n" for e in events[half:]))

    web_port, api_port = free_ports(2)
    config = toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "1h", "flush_interval": "200ms", "max_future": "10m"},
        sources=[{"name": "web", "kind": "sub", "bind": [f"tcp://127.0.0.1:{web_port}"], "subscribe": [""]},
                 {"name": "api", "kind": "pull", "bind": [f"tcp://127.0.0.1:{api_port}"]}],
        metrics=[m.toml() for m in METRICS],
    )
    kpid = kpid_factory(config)
    p = run_kpictl(kpictl_bin, "publish", "--endpoint", f"tcp://127.0.0.1:{web_port}", "--socket", "pub",
                   "--topic", "click", "--file", str(first), "--batch", "5")
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    kpid.wait_until(lambda: kpid.counter("events_received", source="web", type="click") >= half, timeout=30,
                    what="the events published by kpictl --socket pub")

    rate, batch = 200, 7
    started = time.monotonic()
    p = run_kpictl(kpictl_bin, "publish", "--endpoint", f"tcp://127.0.0.1:{api_port}", "--socket", "push",
                   "--batch", str(batch), "--rate", str(rate), input_bytes=second.read_bytes())
    elapsed = time.monotonic() - started
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    n2 = len(events) - half
    assert elapsed >= 0.9 * (n2 - batch) / rate, f"--rate {rate}: {n2} events took only {elapsed:.2f} s"
    kpid.wait_until(lambda: kpid.counter_sum("events_received") >= len(events), timeout=30, what="all events")
    kpid.stop()
    assert kpid.counter("events_received", source="web", type="click") == half
    assert kpid.counter("events_received", source="api", type="click") == n2
    assert kpid.counter("messages_received", source="api") == -(-n2 // batch)

    # The database itself agrees with an independent computation (events sorted by ts, sent in
    # two waves one after the other, each over one connection).
    replica = Replica(METRICS, "UTC", HOUR_MS)
    for e in events:
        replica.ingest("click", e["ts"], e)
    problems = compare_rows(replica.rows(), kpid.aggregate_rows())
    assert not problems, summarize(problems)

    for metric in ("clicks", "spend"):
        db_rows = db_rows_as_list(kpid, metric)
        assert db_rows

        out = json.loads(query(kpictl_bin, kpid, metric, "--format", "json"))
        assert isinstance(out, list)
        assert_same(out, db_rows, f"{metric} json")

        text = query(kpictl_bin, kpid, metric, "--format", "csv")
        reader = csv.DictReader(io.StringIO(text))
        assert {"metric", "period", "window_start", "window_end", "labels", "value", "samples"} <= set(reader.fieldnames or [])
        csv_rows = [dict(r, final=r.get("final", "0")) for r in reader]
        if "final" not in (reader.fieldnames or []):
            db_rows = [dict(r, final=0) for r in db_rows]
        assert_same(csv_rows, db_rows, f"{metric} csv")

        table = query(kpictl_bin, kpid, metric, "--format", "table")
        for r in db_rows:
            assert r["window_start"] in table

    # Filters: period, label, and a time range whose bounds fall on window starts.
    db_rows = db_rows_as_list(kpid, "clicks")
    day_rows = [r for r in db_rows if r["period"] == "day"]
    out = json.loads(query(kpictl_bin, kpid, "clicks", "--period", "day", "--format", "json"))
    assert_same(out, day_rows, "--period day")

    ayoub = [r for r in db_rows if json.loads(r["labels"]) == {"retailer": "ayoub"}]
    out = json.loads(query(kpictl_bin, kpid, "clicks", "--label", "retailer=ayoub", "--format", "json"))
    assert_same(out, ayoub, "--label retailer=ayoub")

    frm, to = day0 + DAY_MS, day0 + 3 * DAY_MS + DAY_MS // 2
    ranged = [r for r in day_rows if rfc3339_utc(day0 + DAY_MS) <= r["window_start"] <= rfc3339_utc(day0 + 3 * DAY_MS)]
    assert len({r["window_start"] for r in ranged}) == 3
    out = json.loads(query(kpictl_bin, kpid, "clicks", "--period", "day", "--from", rfc3339_utc(frm),
                           "--to", rfc3339_utc(to), "--format", "json"))
    assert_same(out, ranged, "--from/--to")
