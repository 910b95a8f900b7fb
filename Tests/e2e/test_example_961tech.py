"""conf/examples/961tech.toml end to end: nine days of seeded 961tech traffic (outbound clicks,
PC-builder sessions, scraped listings, scraper jobs) pushed by pyzmq to the real kpid running the
example with its own 5-minute lateness; every stored row of the example's metrics is compared with
an independent computation here: Beirut days and ISO weeks from zoneinfo, rolling 7-day windows
recomputed from the raw events at each stored boundary, ratios and week-over-week changes from
the recomputed operands, p95 within the documented 1% of the exact value at rank ceil(0.95·n)."""
from __future__ import annotations

import json
import math
import random
from collections import defaultdict

from example_config import example_config
from kpid_harness import push_ndjson
from kpid_replica import HOUR_MS, MINUTE_MS, canonical_labels, parse_rfc3339, rfc3339_utc, window

ZONE = "Asia/Beirut"
BASE = parse_rfc3339("2026-11-08T20:00:00Z")  # Sunday night in Beirut: the stream spans 3 ISO weeks
DAYS = 9
RETAILERS = ["ayoub", "pcandparts", "mojitech"]
CATEGORIES = ["gpu", "cpu", "ram"]
HUMAN = "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"


def generate(seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    ts = BASE
    end = BASE + DAYS * 24 * HOUR_MS
    while ts < end:
        ts += rng.randrange(20_000, 160_000)
        r = rng.random()
        retailer = rng.choice(RETAILERS)
        if r < 0.3:
            v = rng.randrange(400)
            out.append({"type": "click", "ts": ts, "visitor": f"v{v}", "listing": f"{retailer}-{rng.randrange(50)}",
                        "retailer": retailer, "user_agent": HUMAN,
                        "url": f"https://{retailer}.example/p/{rng.randrange(50)}",
                        "referrer": "https://961tech.example/search"})
        elif r < 0.45:
            out.append({"type": "build.slot_selected", "ts": ts, "session": f"s{rng.randrange(300)}",
                        "slot": rng.choice(["gpu", "cpu", "psu"])})
        elif r < 0.8:
            # The second week drops one retailer's listings (a week-over-week change to see).
            n = 60 if not (retailer == "mojitech" and ts > BASE + 7 * 24 * HOUR_MS) else 20
            matched = rng.random() < (0.9 if ts < BASE + 4 * 24 * HOUR_MS else 0.8)
            out.append({"type": "listing.scraped", "ts": ts, "retailer": retailer,
                        "listing": f"{retailer}-{rng.randrange(n)}", "category": rng.choice(CATEGORIES),
                        "product_id": f"p{rng.randrange(999)}" if matched else None,
                        "match_confidence": round(rng.random(), 3),
                        "stock_state": rng.choice(["listed", "listed", "call_for_price", "out"])})
        else:
            out.append({"type": "scrape.job", "ts": ts, "retailer": retailer,
                        "status": "ok" if rng.random() < (0.97 if retailer != "ayoub" else 0.85) else "failed",
                        "duration_ms": round(800 * rng.lognormvariate(0, 0.5), 1)})
    return out


def exact_quantile(values, q):
    s = sorted(values)
    return s[max(1, math.ceil(q * len(s))) - 1]


def test_961tech_example_matches_an_independent_computation(kpid_factory):
    events = generate(5)
    text, endpoints = example_config("961tech", keep_lateness=True)
    kpid = kpid_factory(text)
    push_ndjson(kpid, endpoints["scrapers"], events)
    kpid.stop()
    rows = {(r["metric"], r["period"], r["window_start"], r["labels"]): r for r in kpid._query("SELECT * FROM aggregates")}
    watermark = max(e["ts"] for e in events) - 5 * MINUTE_MS

    def by(metric):
        return {(k[1], k[2], k[3]): r for k, r in rows.items() if k[0] == metric}

    # Calendar counts and distinct counts in Beirut days and ISO weeks.
    want = defaultdict(lambda: defaultdict(set))  # metric -> key -> set (distinct) or list
    counts = defaultdict(lambda: defaultdict(int))
    for e in events:
        t, ts = e["type"], e["ts"]
        day, week, hour = window(ts, "day", ZONE)[0], window(ts, "week", ZONE)[0], window(ts, "hour", ZONE)[0]
        if t == "click":
            want["wqoc"][("week", week, "{}")].add(e["visitor"])
        elif t == "build.slot_selected":
            want["build_sessions_started"][("day", day, "{}")].add(e["session"])
            want["build_sessions_started"][("week", week, "{}")].add(e["session"])
        elif t == "listing.scraped":
            cat = canonical_labels({"category": e["category"]})
            counts["listings_scraped"][("day", day, cat)] += 1
            counts["listings_matched"][("day", day, cat)] += e["product_id"] is not None
            want["listings_per_retailer"][("week", week, canonical_labels({"retailer": e["retailer"]}))].add(e["listing"])
            counts["stock_state_listings"][("day", day, canonical_labels({"stock_state": e["stock_state"]}))] += 1
            counts["listings_scraped_weekly"][("week", week, "{}")] += 1
            counts["listings_unmatched_weekly"][("week", week, "{}")] += e["product_id"] is None
        elif t == "scrape.job":
            counts["scrape_jobs"][("hour", hour, "{}")] += 1
            counts["scrape_failures"][("hour", hour, "{}")] += e["status"] == "failed"
    for metric, keys in want.items():
        got = {k: r["value"] for k, r in by(metric).items()}
        assert got == {(p, rfc3339_utc(w), l): float(len(v)) for (p, w, l), v in keys.items()}, metric
    for metric, keys in counts.items():
        got = {k: r["value"] for k, r in by(metric).items()}
        expected = {(p, rfc3339_utc(w), l): float(n) for (p, w, l), n in keys.items() if n > 0}
        assert got == expected, metric
    assert len({k[1] for k in want["listings_per_retailer"]}) == 3, "three Beirut ISO weeks"

    # Ratios: every window of the denominator, numerator counted as 0 when absent.
    for rate, num, den in (("match_rate", "listings_matched", "listings_scraped"),
                           ("worker_error_rate", "scrape_failures", "scrape_jobs")):
        got = by(rate)
        assert set(got) == {(p, rfc3339_utc(w), l) for (p, w, l) in counts[den]}, rate
        for (p, w, l), r in got.items():
            n, d = counts[num].get((p, parse_rfc3339(w), l), 0), counts[den][(p, parse_rfc3339(w), l)]
            assert (r["numerator"], r["denominator"], r["value"]) == (n, d, n / d), (rate, w, l)

    # Stock states: each state's share of the day's scraped listings; a day's shares add up to 1.
    day_total = defaultdict(int)
    for (p, d, l), n in counts["stock_state_listings"].items():
        day_total[d] += n
    got = by("stock_state_share")
    assert set(got) == {(p, rfc3339_utc(d), l) for (p, d, l) in counts["stock_state_listings"]}
    for (p, d, l), n in counts["stock_state_listings"].items():
        r = got[(p, rfc3339_utc(d), l)]
        assert (r["numerator"], r["denominator"]) == (n, day_total[d]) and math.isclose(r["value"], n / day_total[d])

    # Week-over-week: listings per retailer (relative) and failed-to-match (percentage points).
    weeks = sorted({w for (_, w, _) in counts["listings_scraped_weekly"]})
    pct = {w: 100 * counts["listings_unmatched_weekly"][("week", w, "{}")] / counts["listings_scraped_weekly"][("week", w, "{}")]
           for w in weeks}
    for (p, w, l), r in by("failed_to_match_pct").items():
        assert math.isclose(r["value"], pct[parse_rfc3339(w)], rel_tol=1e-12)
    change_pp = by("failed_to_match_change_pp")
    assert change_pp[("week", rfc3339_utc(weeks[0]), "{}")]["reason"] == "no_previous_window"
    for a, b in zip(weeks, weeks[1:]):
        assert math.isclose(change_pp[("week", rfc3339_utc(b), "{}")]["value"], pct[b] - pct[a], abs_tol=1e-9)
    lpr = want["listings_per_retailer"]
    change = by("listings_per_retailer_change")
    for (p, w, l), r in change.items():
        prev = window(parse_rfc3339(w) - 1, "week", ZONE)[0]
        if ("week", prev, l) not in lpr:
            assert r["reason"] == "no_previous_window", (w, l)
            continue
        now_n, prev_n = len(lpr[("week", parse_rfc3339(w), l)]), len(lpr[("week", prev, l)])
        assert math.isclose(r["value"], (now_n - prev_n) / prev_n, rel_tol=1e-12), (w, l)
    assert any(r["value"] is not None and r["value"] < -0.3 for r in change.values()), "mojitech's drop shows"

    # p95 scraper job duration per Beirut hour, within 1%.
    durations = defaultdict(list)
    for e in events:
        if e["type"] == "scrape.job":
            durations[window(e["ts"], "hour", ZONE)[0]].append(e["duration_ms"])
    got = by("worker_latency")
    assert set(got) == {("hour", rfc3339_utc(h), canonical_labels({"quantile": "0.95"})) for h in durations}
    for h, values in durations.items():
        r = got[("hour", rfc3339_utc(h), canonical_labels({"quantile": "0.95"}))]
        x = exact_quantile(values, 0.95)
        assert abs(r["value"] - x) <= 0.01 * x and r["samples"] == len(values)

    # Rolling 7 days stepped hourly: each stored row equals a recomputation over [start, end) of the
    # raw events; every boundary up to the watermark with jobs in its span was written final.
    jobs = [e for e in events if e["type"] == "scrape.job"]
    ok_rows, all_rows, rate_rows = by("scrape_ok_7d"), by("scrape_jobs_7d"), by("scraper_success_rate")
    assert all_rows and all(p == "rolling:7d" for (p, _, _) in all_rows)
    for (p, w, l), r in all_rows.items():
        start, end = parse_rfc3339(w), parse_rfc3339(r["window_end"])
        assert end - start == 7 * 24 * HOUR_MS and end % HOUR_MS == 0
        retailer = json.loads(l)["retailer"]
        in_span = [e for e in jobs if start <= e["ts"] < end and e["retailer"] == retailer]
        n_ok = sum(e["status"] == "ok" for e in in_span)
        assert r["value"] == len(in_span), (w, l)
        if n_ok:
            assert ok_rows[(p, w, l)]["value"] == n_ok
        rate = rate_rows[(p, w, l)]
        assert (rate["numerator"], rate["denominator"], rate["value"]) == (n_ok, len(in_span), n_ok / len(in_span))
        assert r["final"] == (end <= watermark)
    first = (min(e["ts"] for e in jobs) // HOUR_MS + 1) * HOUR_MS
    finals = {parse_rfc3339(r["window_end"]) for r in all_rows.values() if r["final"]}
    assert finals == set(range(first, (watermark // HOUR_MS) * HOUR_MS + 1, HOUR_MS)), "a final row per boundary"
    ayoub = [r["value"] for (p, w, l), r in rate_rows.items() if json.loads(l)["retailer"] == "ayoub"]
    assert ayoub and max(ayoub) < 0.95, "ayoub's success rate is below the 95% target"
