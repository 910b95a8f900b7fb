"""Test 3: malformed input is rejected with the right reason, sampled, and ingest continues."""
from __future__ import annotations

import json
import random
import time

import zmq

from kpid_harness import toml_config
from kpid_replica import DAY_MS, HOUR_MS, Metric, Replica, compare_rows, summarize, window, rfc3339_utc

METRICS = [
    Metric("good_count", ["good"], "count", ["hour"], ["k"]),
    Metric("pay_total", ["pay"], "sum(amount)", ["day"], ["k"]),
    Metric("stamped", ["nots"], "count", ["day"]),
]


def test_malformed_input_is_counted_and_ingest_continues(kpid_factory, free_ports):
    now = int(time.time() * 1000)
    base = (now // DAY_MS) * DAY_MS - 2 * DAY_MS
    rng = random.Random(3)

    good: list[dict] = []   # accepted events, in the order sent

    def good_event() -> bytes:
        e = {"type": rng.choice(["good", "pay"]), "ts": base + rng.randrange(0, DAY_MS), "k": rng.choice(["x", "y"])}
        if e["type"] == "pay":
            e["amount"] = rng.choice([1, 2.5, 100, 7])
        good.append(e)
        return json.dumps(e).encode()

    ts = base + HOUR_MS
    # (reason, frames); each message carries exactly one rejected input.
    bad: list[tuple[str, list[bytes]]] = [
        ("malformed_json", [b'{"type":"good","ts":' + str(ts).encode()]),
        ("malformed_json", [b"{type: good}"]),
        ("malformed_json", [b'{"type":"good","ts":%d,"k":"x"} trailing' % ts]),
        ("not_object", [b"[1,2,3]"]),
        ("not_object", [b'"just a string"']),
        ("not_object", [b"42"]),
        ("missing_type", [b'{"ts":%d,"k":"x"}' % ts]),
        ("bad_type", [b'{"type":5,"ts":%d,"k":"x"}' % ts]),
        ("bad_type", [b'{"type":true,"ts":%d,"k":"x"}' % ts]),
        ("bad_ts", [b'{"type":"good","ts":"yesterday","k":"x"}']),
        ("bad_ts", [b'{"type":"good","ts":true,"k":"x"}']),
        ("bad_ts", [b'{"type":"good","ts":"2026-13-45T00:00:00Z","k":"x"}']),
        ("type_topic_mismatch", [b"good", b'{"type":"pay","ts":%d,"k":"x","amount":1}' % ts]),
        ("too_many_frames", [b"good", b'{"ts":%d,"k":"x"}' % ts, b"extra"]),
        ("empty_frame", [b""]),
        ("empty_frame", [b"good", b""]),
        ("ts_in_future", [b'{"type":"good","ts":%d,"k":"x"}' % (now + DAY_MS)]),
        ("nested_value", [b'{"type":"good","ts":%d,"k":{"a":1}}' % ts]),
        ("nested_value", [b'{"type":"good","ts":%d,"k":"x","tags":["a"]}' % ts]),
        ("duplicate_key", [b'{"type":"good","ts":%d,"k":"x","k":"y"}' % ts]),
        ("invalid_utf8", [b'{"type":"good","ts":%d,"k":"\xff\xfe"}' % ts]),
        ("bad_number", [b'{"type":"pay","ts":%d,"k":"x","amount":1e400}' % ts]),
    ]
    # Per-metric rejects: the event is valid, but pay_total cannot use it.
    metric_bad: list[tuple[str, bytes]] = [
        ("wrong_field_type", b'{"type":"pay","ts":%d,"k":"x","amount":"12.5"}' % ts),
        ("wrong_field_type", b'{"type":"pay","ts":%d,"k":"y","amount":true}' % ts),
        ("missing_field", b'{"type":"pay","ts":%d,"k":"x"}' % ts),
        ("missing_field", b'{"type":"pay","ts":%d,"k":"x","amount":null}' % ts),
    ]

    messages: list[list[bytes]] = []
    for reason, frames in bad:
        for _ in range(rng.randrange(1, 4)):
            messages.append([good_event()])
        messages.append(frames)
    for reason, payload in metric_bad:
        messages.append([good_event()])
        messages.append([payload])
    # A topic frame gives the type of events that have none.
    typeless = {"ts": base + 5 * HOUR_MS, "k": "z"}
    messages.append([b"good", json.dumps(typeless).encode()])
    good.append({"type": "good", **typeless})
    # No ts: stamped with the receive time.
    messages.append([json.dumps({"type": "nots", "k": "x"}).encode()])
    t_send = int(time.time() * 1000)

    port, = free_ports(1)
    config = toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "30d", "flush_interval": "200ms", "max_future": "10m"},
        sources=[{"name": "api", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"]}],
        metrics=[m.toml() for m in METRICS],
    )
    kpid = kpid_factory(config)

    ctx = zmq.Context()
    try:
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 10_000)
        s.connect(f"tcp://127.0.0.1:{port}")
        for frames in messages:
            s.send_multipart(frames)
        kpid.wait_until(lambda: kpid.counter("messages_received", source="api") >= len(messages), timeout=30,
                        what=f"messages_received to reach {len(messages)}")

        # Still ingesting after all that: a second wave of good events is counted.
        second_wave = [good_event() for _ in range(25)]
        s.send(b"\n".join(second_wave))
        total_messages = len(messages) + 1
        kpid.wait_until(lambda: kpid.counter("messages_received", source="api") >= total_messages, timeout=30,
                        what="the second wave")
        want_good = sum(1 for e in good if e["type"] == "good")
        kpid.wait_until(
            lambda: sum(v[2] for k, v in kpid.aggregate_rows().items() if k[0] == "good_count") == want_good,
            timeout=30, what="the second wave in the aggregates")
        assert kpid.alive()
        s.close()
    finally:
        ctx.term()
    t_stop = int(time.time() * 1000)
    kpid.stop()

    # ---- reject counters and samples -----------------------------------------------------------
    want_rejects: dict[str, int] = {}
    for reason, _ in bad:
        want_rejects[reason] = want_rejects.get(reason, 0) + 1
    for reason, n in want_rejects.items():
        assert kpid.counter("rejects", reason=reason, source="api") == n, f"rejects{{reason={reason}}}"
    counters = kpid.counters()
    unexpected = {lab: v for (n, lab), v in counters.items()
                  if n == "rejects" and v and json.loads(lab)["reason"] not in want_rejects
                  and json.loads(lab)["reason"] not in ("wrong_field_type", "missing_field")}
    assert unexpected == {}, unexpected
    assert kpid.counter("messages_received", source="api") == total_messages

    want_metric: dict[str, int] = {}
    for reason, _ in metric_bad:
        want_metric[reason] = want_metric.get(reason, 0) + 1
    got_metric = {json.loads(lab)["reason"]: v for (n, lab), v in counters.items()
                  if n == "metric_rejects" and v and json.loads(lab)["metric"] == "pay_total"}
    assert got_metric == want_metric
    others = {lab: v for (n, lab), v in counters.items()
              if n == "metric_rejects" and v and json.loads(lab)["metric"] != "pay_total"}
    assert others == {}, others

    samples = kpid.rejects_table()
    sent_by_reason: dict[str, list[bytes]] = {}
    for reason, frames in bad:
        sent_by_reason.setdefault(reason, []).extend(frames)
    for reason, payload in metric_bad:
        sent_by_reason.setdefault(reason, []).append(payload)
    for reason, sent in sent_by_reason.items():
        rows = [r for r in samples if r["reason"] == reason]
        assert rows, f"no sample in the rejects table for {reason}"
        for r in rows:
            assert r["source"] == "api", (reason, r["source"])
            sample = bytes(r["sample"])
            if reason == "empty_frame":
                continue
            assert sample, f"empty sample for {reason}"
            assert any(sample in frame for frame in sent), f"{reason}: sample {sample!r} is not from what was sent"
            if reason in ("wrong_field_type", "missing_field"):
                assert r["metric"] == "pay_total", (reason, r["metric"])

    # ---- good events counted exactly -------------------------------------------------------------
    replica = Replica(METRICS[:2], "UTC", 30 * DAY_MS)
    for e in good:
        replica.ingest(e["type"], e["ts"], e)
    for reason, payload in metric_bad:
        e = json.loads(payload)
        replica.ingest(e["type"], e["ts"], e)
    assert {(m, r): n for (m, r), n in replica.metric_rejects.items()} == \
        {("pay_total", r): n for r, n in want_metric.items()}
    actual = kpid.aggregate_rows()
    expected = replica.rows()
    stamped = {k: v for k, v in actual.items() if k[0] == "stamped"}
    problems = compare_rows(expected, {k: v for k, v in actual.items() if k[0] != "stamped"})
    assert not problems, "aggregates of the good events: " + summarize(problems)

    # The event without ts went to the day of its receive time.
    assert kpid.counter("ts_missing") == 1
    assert len(stamped) == 1, stamped
    (metric, period, start, labels), (end, value, n, final) = next(iter(stamped.items()))
    allowed = {rfc3339_utc(window(t, "day", "UTC")[0]) for t in (t_send, t_stop)}
    assert start in allowed and labels == "{}" and value == 1 and n == 1
