"""conf/examples/salon.toml end to end: seeded salon events (three weeks around the end of DST in
America/New_York on 2026-11-01, across the October/November month boundary) are pushed with pyzmq
to the real kpid running the example config; then EVERY stored row of the salon metrics, plain
and derived, must equal an independent computation of the same events in DuckDB.

The DuckDB side computes calendar windows with its own time zone support (ICU): local day, ISO
week and month in America/New_York, converted back to UTC instants; ratios, percents, the change
and the delta against the previous calendar window are computed in SQL, with the documented rules:
an absent count is 0, a zero denominator gives NULL with reason `division_by_zero`, and a window
whose previous calendar window has no row gives NULL with reason `no_previous_window`.
"""
from __future__ import annotations

import json
import math
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb
import zmq

from example_config import example_config
from kpid_harness import push_ndjson, run_kpictl

ZONE = "America/New_York"
LATENESS_MS = 10 * 60_000  # [kpid] allowed_lateness of the example
PERIODS = ("day", "week", "month")

PLAIN = {
    # name: (event type, filter on outcome or None, aggregate: "count" or "avg(field)")
    "booking_attempts": ("booking.attempt", None, "count"),
    "bookings_ok": ("booking.attempt", "ok", "count"),
    "admin_interventions": ("booking.admin_intervention", None, "count"),
    "reminders_sent": ("reminder.sent", None, "count"),
    "reminders_delivered": ("reminder.delivered", None, "count"),
    "appointments_closed": ("appointment.closed", None, "count"),
    "appointments_cancelled": ("appointment.closed", "cancelled", "count"),
    "appointments_no_show": ("appointment.closed", "no_show", "count"),
    "appointments_completed": ("appointment.closed", "completed", "count"),
    "average_ticket": ("appointment.closed", "completed", "avg(ticket)"),
    "feedback_average": ("feedback", None, "avg(score)"),
    "feedback_count": ("feedback", None, "count"),
}
RATIOS = {
    # name: (function, numerator, denominator)
    "booking_success_rate": ("ratio", "bookings_ok", "booking_attempts"),
    "admin_intervention_rate": ("ratio", "admin_interventions", "booking_attempts"),
    "reminder_delivery_rate": ("ratio", "reminders_delivered", "reminders_sent"),
    "cancellation_rate": ("ratio", "appointments_cancelled", "appointments_closed"),
    "no_show_rate": ("ratio", "appointments_no_show", "appointments_closed"),
    "booking_success_pct": ("percent", "bookings_ok", "booking_attempts"),
}
CHANGES = {
    # name: (function, operand)
    "appointments_completed_change": ("change", "appointments_completed"),
    "booking_success_pp_delta": ("delta", "booking_success_pct"),
}
ALL = list(PLAIN) + list(RATIOS) + list(CHANGES)


def generate(seed: int) -> list[dict]:
    """Events from Sat 2026-10-24 to Mon 2026-11-09 (New York), in time order."""
    rnd = random.Random(seed)
    tz = ZoneInfo(ZONE)
    start = int(datetime(2026, 10, 24, 0, 0, tzinfo=tz).timestamp() * 1000)
    end = int(datetime(2026, 11, 9, 12, 0, tzinfo=tz).timestamp() * 1000)
    tenants = ["t1"] * 6 + ["t2"] * 3 + ["t3"]  # t3 is small: days without bookings
    events = []
    t = start
    while t < end:
        t += rnd.randint(1, 8 * 60_000)
        tenant = rnd.choice(tenants)
        r = rnd.random()
        if r < 0.38:
            e = {"type": "booking.attempt", "tenant": tenant, "outcome": "ok" if rnd.random() < 0.8 else "failed"}
        elif r < 0.46:
            e = {"type": "booking.admin_intervention", "tenant": tenant}
        elif r < 0.64:
            e = {"type": "reminder.sent", "tenant": tenant}
        elif r < 0.79:
            e = {"type": "reminder.delivered", "tenant": tenant}
        elif r < 0.93:
            o = rnd.random()
            outcome = "completed" if o < 0.7 else ("cancelled" if o < 0.9 else "no_show")
            e = {"type": "appointment.closed", "tenant": tenant, "outcome": outcome,
                 "ticket": round(rnd.uniform(15, 240), 2)}
        else:
            e = {"type": "feedback", "tenant": tenant, "score": rnd.randint(1, 5)}
        e["ts"] = t
        events.append(e)
    # t4 only ever intervenes and receives delivery receipts: zero denominators.
    for day in (3, 9):
        ts = start + day * 86_400_000 + 15 * 3_600_000
        events.append({"type": "booking.admin_intervention", "tenant": "t4", "ts": ts})
        events.append({"type": "reminder.delivered", "tenant": "t4", "ts": ts + 1000})
    events.sort(key=lambda e: e["ts"])
    return events


def send_order(events: list[dict], seed: int) -> list[dict]:
    """Out of order by up to 5 minutes (within the 10-minute lateness: nothing is late)."""
    rnd = random.Random(seed)
    return sorted(events, key=lambda e: e["ts"] + rnd.randint(0, 5 * 60_000))


def expected_rows(events: list[dict]) -> dict:
    """(metric, period, window_start, labels) -> (window_end, value, samples, final, reason, numerator, denominator)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE TABLE ev (type VARCHAR, tenant VARCHAR, outcome VARCHAR, ticket DOUBLE, score DOUBLE, ts_ms BIGINT)")
    con.executemany("INSERT INTO ev VALUES (?, ?, ?, ?, ?, ?)",
                    [(e["type"], e["tenant"], e.get("outcome"), e.get("ticket"), e.get("score"), e["ts"]) for e in events])
    watermark = max(e["ts"] for e in events) - LATENESS_MS
    # Calendar windows in the zone: local start truncated, back to a UTC instant.
    con.execute(f"""
        CREATE TABLE evw AS
        SELECT ev.*, p.period,
               timezone('{ZONE}', date_trunc(p.period, timezone('{ZONE}', make_timestamp(ts_ms * 1000)::TIMESTAMPTZ))) AS ws,
               timezone('{ZONE}', date_trunc(p.period, timezone('{ZONE}', make_timestamp(ts_ms * 1000)::TIMESTAMPTZ))
                                  + CASE p.period WHEN 'day' THEN INTERVAL 1 DAY WHEN 'week' THEN INTERVAL 7 DAY
                                                  ELSE INTERVAL 1 MONTH END) AS we
          FROM ev CROSS JOIN (VALUES ('day'), ('week'), ('month')) AS p(period)
        """)
    parts = []
    for name, (etype, outcome, agg) in PLAIN.items():
        value = "COUNT(*)::DOUBLE" if agg == "count" else f"AVG({agg[4:-1]})"
        where = f"type = '{etype}'" + (f" AND outcome = '{outcome}'" if outcome else "")
        parts.append(f"""SELECT '{name}' AS metric, period, ws, we, tenant, {value} AS value, COUNT(*) AS samples,
                                NULL::VARCHAR AS reason, NULL::DOUBLE AS numerator, NULL::DOUBLE AS denominator
                           FROM evw WHERE {where} GROUP BY period, ws, we, tenant""")
    con.execute("CREATE TABLE plain AS " + " UNION ALL ".join(parts))
    parts = []
    for name, (fn, a, b) in RATIOS.items():
        scale = "100.0 * " if fn == "percent" else ""
        parts.append(f"""
            SELECT '{name}' AS metric, COALESCE(x.period, y.period) AS period, COALESCE(x.ws, y.ws) AS ws,
                   COALESCE(x.we, y.we) AS we, COALESCE(x.tenant, y.tenant) AS tenant,
                   CASE WHEN COALESCE(y.value, 0) = 0 THEN NULL ELSE {scale}COALESCE(x.value, 0) / y.value END AS value,
                   COALESCE(y.samples, 0) AS samples,
                   CASE WHEN COALESCE(y.value, 0) = 0 THEN 'division_by_zero' END AS reason,
                   COALESCE(x.value, 0) AS numerator, COALESCE(y.value, 0) AS denominator
              FROM (SELECT * FROM plain WHERE metric = '{a}') x
              FULL OUTER JOIN (SELECT * FROM plain WHERE metric = '{b}') y
                ON x.period = y.period AND x.ws = y.ws AND x.tenant = y.tenant""")
    con.execute("CREATE TABLE ratios AS " + " UNION ALL ".join(parts))
    con.execute("CREATE VIEW base AS SELECT * FROM plain UNION ALL SELECT * FROM ratios")
    parts = []
    for name, (fn, x) in CHANGES.items():
        # The previous calendar window: local start minus one period, independently of kpid's rule.
        step = "CASE cur.period WHEN 'day' THEN INTERVAL 1 DAY WHEN 'week' THEN INTERVAL 7 DAY ELSE INTERVAL 1 MONTH END"
        formula = "(cur.value - prev.value) / prev.value" if fn == "change" else "cur.value - prev.value"
        zero = "prev.value = 0" if fn == "change" else "FALSE"
        parts.append(f"""
            SELECT '{name}' AS metric, cur.period, cur.ws, cur.we, cur.tenant,
                   CASE WHEN prev.metric IS NULL OR {zero} THEN NULL ELSE {formula} END AS value,
                   cur.samples,
                   CASE WHEN prev.metric IS NULL THEN 'no_previous_window' WHEN {zero} THEN 'division_by_zero' END AS reason,
                   cur.value AS numerator, prev.value AS denominator
              FROM (SELECT * FROM base WHERE metric = '{x}') cur
              LEFT JOIN (SELECT * FROM base WHERE metric = '{x}') prev
                ON prev.period = cur.period AND prev.tenant = cur.tenant
               AND timezone('{ZONE}', prev.ws) = timezone('{ZONE}', cur.ws) - {step}""")
    con.execute("CREATE TABLE changes AS " + " UNION ALL ".join(parts))
    rows = con.execute("""
        SELECT metric, period, strftime(timezone('UTC', ws), '%Y-%m-%dT%H:%M:%SZ'),
               strftime(timezone('UTC', we), '%Y-%m-%dT%H:%M:%SZ'), tenant, value, samples,
               epoch_ms(we) AS we_ms, reason, numerator, denominator
          FROM (SELECT * FROM base UNION ALL SELECT * FROM changes)
        """).fetchall()
    out = {}
    for metric, period, ws, we, tenant, value, samples, we_ms, reason, num, den in rows:
        labels = json.dumps({"tenant": tenant}, separators=(",", ":"))
        key = (metric, period, ws, labels)
        assert key not in out, key
        out[key] = (we, value, samples, 1 if we_ms <= watermark else 0, reason, num, den)
    return out


def stored_rows(kpid) -> dict:
    marks = ",".join("?" for _ in ALL)
    rows = kpid._query("SELECT metric, period, window_start, window_end, labels, value, samples, final, reason, "
                       f"numerator, denominator FROM aggregates WHERE metric IN ({marks})", tuple(ALL))
    return {(r["metric"], r["period"], r["window_start"], r["labels"]):
            (r["window_end"], r["value"], r["samples"], r["final"], r["reason"], r["numerator"], r["denominator"])
            for r in rows}


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def test_salon_example_matches_duckdb(kpid_factory, kpictl_bin):
    events = generate(20261101)
    text, endpoints = example_config("salon", keep_lateness=True)
    kpid = kpid_factory(text)
    push_ndjson(kpid, endpoints["salon"], send_order(events, 7))
    kpid.stop()
    assert kpid.counter_sum("rejects") == 0, kpid.counters()

    want = expected_rows(events)
    got = stored_rows(kpid)
    # The stream exercises what it should.
    reasons = {v[4] for v in want.values()}
    assert {"division_by_zero", "no_previous_window", None} <= reasons, reasons
    assert {k[1] for k in want} == set(PERIODS)
    assert any(k[1] == "day" and k[2] == "2026-11-01T04:00:00Z" for k in want), "the 25-hour DST day is covered"
    assert {k[0] for k in want} == set(ALL), "every salon metric has rows"
    assert any(v[3] == 1 for v in want.values()) and any(v[3] == 0 for v in want.values())

    missing = sorted(want.keys() - got.keys())
    extra = sorted(got.keys() - want.keys())
    assert not missing and not extra, f"missing {missing[:10]} ({len(missing)}), extra {extra[:10]} ({len(extra)})"
    bad = []
    for k, (we, value, samples, final, reason, num, den) in want.items():
        g = got[k]
        if (g[0], g[2], g[3], g[4]) != (we, samples, final, reason) or not close(g[1], value) \
                or not close(g[5], num) or not close(g[6], den):
            bad.append((k, g, want[k]))
    assert not bad, f"{len(bad)} of {len(want)} rows differ, e.g. {bad[:5]}"

    # kpictl query shows the derived columns.
    k = next(k for k, v in sorted(want.items()) if v[4] == "division_by_zero")
    p = run_kpictl(kpictl_bin, "query", k[0], "--db", str(kpid.db_path), "--period", k[1], "--format", "json",
                   "--label", f"tenant={json.loads(k[3])['tenant']}")
    assert p.returncode == 0, p.stderr
    shown = [r for r in json.loads(p.stdout) if r["window_start"] == k[2]]
    assert len(shown) == 1 and shown[0]["value"] is None and shown[0]["reason"] == "division_by_zero"
    assert shown[0]["numerator"] == want[k][5] and shown[0]["denominator"] == 0
    table = run_kpictl(kpictl_bin, "query", k[0], "--db", str(kpid.db_path), "--format", "table").stdout.decode()
    assert "reason" in table.splitlines()[0] and "division_by_zero" in table


def test_change_after_a_restart_reads_the_previous_window_from_sqlite(kpid_factory, free_ports):
    """Day 1 closes before a restart; after it, day 2's change and delta still have day 1: kpid
    read day 1's final row back from SQLite at startup."""
    from kpid_harness import toml_config

    port, = free_ports(1)
    config = toml_config(
        kpid={"time_zone": ZONE, "allowed_lateness": "1m", "flush_interval": "100ms"},
        sources=[{"name": "in", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"]}],
        metrics=[
            {"name": "bookings", "events": ["booking.attempt"], "aggregate": "count", "group_by": ["tenant"],
             "windows": ["day"]},
            {"name": "ticks", "events": ["tick"], "aggregate": "count", "windows": ["day"]},
            {"name": "bookings_change", "expr": "change(bookings)"},
            {"name": "bookings_delta", "expr": "delta(bookings)"},
        ])
    tz = ZoneInfo(ZONE)
    day1 = int(datetime(2026, 10, 31, 0, 0, tzinfo=tz).timestamp() * 1000)
    day2 = int(datetime(2026, 11, 1, 0, 0, tzinfo=tz).timestamp() * 1000)  # the 25-hour day
    day3 = int(datetime(2026, 11, 2, 0, 0, tzinfo=tz).timestamp() * 1000)
    rnd = random.Random(3)
    n1, n2 = rnd.randint(5, 40), rnd.randint(5, 40)

    def publish(kpid, events):
        ctx = zmq.Context()
        try:
            s = ctx.socket(zmq.PUSH)
            s.setsockopt(zmq.LINGER, 10_000)
            s.connect(f"tcp://127.0.0.1:{port}")
            before = kpid.counter_sum("events_received")
            s.send(b"\n".join(json.dumps(e).encode() for e in events))
            kpid.wait_until(lambda: kpid.counter_sum("events_received") >= before + len(events), timeout=30,
                            what="the events")
            s.close()
        finally:
            ctx.term()

    first = kpid_factory(config, name="salon-restart")
    publish(first, [{"type": "booking.attempt", "tenant": "t1", "ts": day1 + 3_600_000 + i * 60_000} for i in range(n1)]
            + [{"type": "tick", "ts": day2 + 5 * 60_000}])  # closes day 1
    first.stop()
    rows = first.aggregate_rows()
    labels = '{"tenant":"t1"}'
    assert rows[("bookings", "day", rfc(day1), labels)][3] == 1, "day 1 is final before the restart"

    second = kpid_factory(config, name="salon-restart")  # same directory, same database
    publish(second, [{"type": "booking.attempt", "tenant": "t1", "ts": day2 + 7_200_000 + i * 60_000} for i in range(n2)]
            + [{"type": "tick", "ts": day3 + 5 * 60_000}])  # closes day 2
    second.stop()
    conn = second.db()
    try:
        by = {(r["metric"], r["window_start"]): r for r in conn.execute(
            "SELECT metric, window_start, value, final, reason, numerator, denominator FROM aggregates "
            "WHERE labels = ?", (labels,))}
    finally:
        conn.close()
    change = by[("bookings_change", rfc(day2))]
    assert change["reason"] is None and change["final"] == 1
    assert math.isclose(change["value"], (n2 - n1) / n1) and change["denominator"] == n1 and change["numerator"] == n2
    delta = by[("bookings_delta", rfc(day2))]
    assert delta["value"] == n2 - n1
    assert by[("bookings_change", rfc(day1))]["reason"] == "no_previous_window"


def rfc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
