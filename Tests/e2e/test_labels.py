"""Canonical label JSON: sorted keys, string values rendered as the contract says (integral
numbers without a fraction, other numbers as Python repr, booleans, null), escapes as json.dumps."""
from __future__ import annotations

import json
import time

import zmq

from kpid_harness import toml_config
from kpid_replica import ABSENT, DAY_MS, canonical_labels

VALUES = [
    200, 200.0, -3, -0.0, 0.25, 1e-05, 123456.789, 0.1 + 0.2, -2.5e-10,
    2 ** 53 - 1, 2 ** 53, 2 ** 60, 1e16,           # integral doubles at and past 2^53
    True, False, None, ABSENT,
    "", "200", 'o"neil', "back\\slash", "café-ø", "🛒", "tab\there", "\u0001ctl", "line\nbreak", "slash/",
]


def test_labels_are_canonical_json(kpid_factory, free_ports):
    now = int(time.time() * 1000)
    ts = now - DAY_MS
    port, = free_ports(1)
    config = toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "30d", "flush_interval": "200ms", "max_future": "10m"},
        sources=[{"name": "api", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"]}],
        metrics=[
            {"name": "by_value", "events": ["v"], "aggregate": "count", "group_by": ["val"], "windows": ["day"]},
            {"name": "by_three", "events": ["three"], "aggregate": "count", "group_by": ["zeta", "Alpha", "beta"],
             "windows": ["day"]},
        ],
    )
    kpid = kpid_factory(config)

    sent = []
    for v in VALUES:
        e = {"type": "v", "ts": ts}
        if v is not ABSENT:
            e["val"] = v
        sent.append(json.dumps(e, ensure_ascii=False).encode())
    three = [{"zeta": "z", "Alpha": 1.5, "beta": True}, {"zeta": None, "beta": "b"}]
    for e in three:
        sent.append(json.dumps({"type": "three", "ts": ts, **e}).encode())

    ctx = zmq.Context()
    try:
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 10_000)
        s.connect(f"tcp://127.0.0.1:{port}")
        for m in sent:
            s.send(m)
        kpid.wait_until(lambda: kpid.counter_sum("events_received") >= len(sent), timeout=30, what="all events")
        s.close()
    finally:
        ctx.term()
    kpid.stop()

    # Values that render alike share a row: 200 and 200.0, null and absent.
    want_by_value: dict[str, int] = {}
    for v in VALUES:
        lab = canonical_labels({"val": v})
        want_by_value[lab] = want_by_value.get(lab, 0) + 1
    want_three = {canonical_labels({k: e.get(k, ABSENT) for k in ("zeta", "Alpha", "beta")}): 1 for e in three}

    rows = kpid.aggregate_rows()
    got_by_value = {k[3]: v[2] for k, v in rows.items() if k[0] == "by_value"}
    got_three = {k[3]: v[2] for k, v in rows.items() if k[0] == "by_three"}
    missing = sorted(set(want_by_value) - set(got_by_value))
    extra = sorted(set(got_by_value) - set(want_by_value))
    assert not missing and not extra, f"labels differ from the contract\nexpected, not found: {missing}\n" \
                                      f"found, not expected: {extra}"
    assert got_by_value == want_by_value
    assert got_three == want_three
