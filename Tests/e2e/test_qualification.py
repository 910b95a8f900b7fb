"""Qualified clicks end to end: a generated stream with known bots, self-referrer reloads and
duplicate clicks is pushed by pyzmq to the real kpid; WQOC, qualified clicks per retailer and the
drop counters in SQLite must equal an independent computation of the same stream in this file.

The independent side knows which user agents are bots because it picked them from labelled lists,
normalises URLs with urllib.parse, and applies the documented dedupe rule (a click is a duplicate
when the same (visitor, listing) had a counted click less than 5 minutes away; duplicates do not
extend the window; decided in arrival order).
"""
from __future__ import annotations

import json
import random
import time
from collections import defaultdict
from urllib.parse import urlsplit

from kpid_harness import REPO, push_ndjson, toml_config
from kpid_replica import DAY_MS, HOUR_MS, MINUTE_MS, canonical_labels, rfc3339_utc, window

ZONE = "Asia/Beirut"

HUMANS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.6723.102 Mobile Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 Edg/129.0.2792.79",
]
BOTS = [
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "",
    None,  # no user_agent field at all
]
RETAILERS = ["ayoub", "pcandparts", "mojitech", "abed"]


def norm(u: str):
    """The documented normalisation, written independently: None when `u` is not a URL."""
    try:
        p = urlsplit(u)
    except ValueError:
        return None
    if not p.scheme or not p.netloc:
        return None
    scheme = p.scheme.lower()
    host = p.hostname or ""
    try:
        port = p.port
    except ValueError:
        return None
    if port is not None and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    path = p.path[:-1] if p.path.endswith("/") else p.path
    return (scheme, host, path, p.query)


def generate(seed: int, now_ms: int):
    rnd = random.Random(seed)
    # Two Beirut ISO weeks: start on a Sunday evening 20:00 local, 10 days before now.
    base = window(now_ms - 10 * DAY_MS, "week", ZONE)[0] - 4 * HOUR_MS  # Sunday 20:00 Beirut
    events = []
    t = base
    for i in range(2500):
        t += rnd.choice([0, 1, 7_000, 60_000, 120_000, 299_999, 300_000, 300_001, 600_000])
        ts = t
        if rnd.random() < 0.05:
            ts = t - rnd.randint(1, 4 * MINUTE_MS)  # out of order, within the lateness
        visitor = f"v{rnd.randint(1, 120)}"
        listing = f"l{rnd.randint(1, 6)}"
        retailer = rnd.choice(RETAILERS)
        url = f"https://961tech.example/l/{listing}?r={retailer}"
        e = {"type": "click", "ts": ts, "visitor": visitor, "listing": listing, "retailer": retailer, "url": url}
        r = rnd.random()
        if r < 0.12:
            ua = rnd.choice(BOTS)
        else:
            ua = rnd.choice(HUMANS)
        if ua is not None:
            e["user_agent"] = ua
        r = rnd.random()
        if r < 0.08:
            e["referrer"] = f"HTTPS://961TECH.example:443/l/{listing}/?r={retailer}#reviews"  # a reload
        elif r < 0.10:
            e["referrer"] = "not a url"
        elif r < 0.12:
            e["referrer"] = f"https://961tech.example/l/{listing}?r=other"  # same page, other query
        elif r < 0.9:
            e["referrer"] = "https://www.google.com/"
        if rnd.random() < 0.01:
            del e["listing"]  # cannot be deduplicated: rejected from the pipeline
        events.append(e)
    return events


def expected(events):
    wqoc = defaultdict(set)
    qualified = defaultdict(int)
    dropped = defaultdict(int)
    examined = defaultdict(int)
    last_counted = {}
    missing = 0
    for e in events:
        ts = e["ts"]
        for period in ("hour", "day"):
            examined[(period, window(ts, period, "UTC")[0])] += 1
        if "listing" not in e:
            missing += 1
            continue
        ua = e.get("user_agent")
        if ua is None or ua == "" or ua in BOTS:
            verdict = "bot"
        elif "referrer" in e and norm(e["referrer"]) is not None and norm(e["referrer"]) == norm(e["url"]):
            verdict = "self_referrer"
        else:
            key = (e["visitor"], e["listing"])
            prev = last_counted.get(key)
            if prev is not None and abs(ts - prev) < 5 * MINUTE_MS:
                verdict = "duplicate"
            else:
                last_counted[key] = ts if prev is None else max(prev, ts)
                verdict = "qualified"
        if verdict == "qualified":
            wqoc[window(ts, "week", ZONE)[0]].add(e["visitor"])
            qualified[(window(ts, "day", ZONE)[0], e["retailer"])] += 1
        else:
            for period in ("hour", "day"):
                dropped[(period, window(ts, period, "UTC")[0], verdict)] += 1
    return wqoc, qualified, dropped, examined, missing


def test_qualified_clicks_match_an_independent_computation(kpid_factory, free_ports):
    now = int(time.time() * 1000)
    events = generate(7, now)
    port, = free_ports(1)
    config = toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "30d", "flush_interval": "200ms", "max_future": "10m"},
        sources=[{"name": "web", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"]}],
        pipelines=[{"name": "qualified_clicks", "events": ["click"], "bot_patterns": str(REPO / "conf" / "bots"),
                    "log_fields": ["visitor", "listing"]}],
        metrics=[
            {"name": "wqoc", "pipeline": "qualified_clicks", "aggregate": "distinct(visitor)",
             "windows": ["week"], "time_zone": ZONE},
            {"name": "qualified_clicks", "pipeline": "qualified_clicks", "aggregate": "count",
             "group_by": ["retailer"], "windows": ["day"], "time_zone": ZONE},
            {"name": "clicks", "events": ["click"], "aggregate": "count", "windows": ["day"], "time_zone": ZONE},
        ],
    )
    kpid = kpid_factory(config)
    push_ndjson(kpid, f"tcp://127.0.0.1:{port}", events, batch=50)  # NDJSON batches of 50, in order
    kpid.stop()

    wqoc, qualified, dropped, examined, missing = expected(events)
    rows = kpid.aggregate_rows()
    got_wqoc = {k[2]: v[1] for k, v in rows.items() if k[0] == "wqoc"}
    assert got_wqoc == {rfc3339_utc(w): float(len(v)) for w, v in wqoc.items()}
    assert len(got_wqoc) == 2, "the stream spans two Beirut ISO weeks"

    got_q = {(k[2], k[3]): v[1] for k, v in rows.items() if k[0] == "qualified_clicks"}
    want_q = {(rfc3339_utc(d), canonical_labels({"retailer": r})): float(n) for (d, r), n in qualified.items()}
    assert got_q == want_q

    got_drop = {(k[1], k[2], json.loads(k[3])["filter"]): v[1] for k, v in rows.items()
                if k[0] == "kpid_qualify_dropped"}
    want_drop = {(p, rfc3339_utc(w), f): float(n) for (p, w, f), n in dropped.items()}
    assert got_drop == want_drop
    assert {f for (_, _, f) in want_drop} == {"bot", "self_referrer", "duplicate"}, "every filter is exercised"

    got_in = {(k[1], k[2]): v[1] for k, v in rows.items() if k[0] == "kpid_qualify_input"}
    assert got_in == {(p, rfc3339_utc(w)): float(n) for (p, w), n in examined.items()}

    assert sum(v[1] for k, v in rows.items() if k[0] == "clicks") == len(events), "raw metrics count every click"
    assert kpid.counter("rejects", source="web", reason="missing_dedupe_key") == missing > 0
    logged = kpid._query("SELECT COUNT(*) AS n FROM qualified_events WHERE pipeline = 'qualified_clicks'")[0]["n"]
    assert logged == sum(qualified.values())
