"""Issue 7 part 5: hostile input against the real daemon over ZeroMQ.

Every hostile message is followed on the same socket by a well-formed probe event with its own
group key, so "the event right after it is counted" is checked per case. Each rejected case is
counted under one exact `rejects{reason,source}`; each accepted edge case (-0, a duplicate key or
a lone surrogate escape in a field no metric reads, ...) is counted in the aggregates. At the end
the daemon is alive and exits 0 on SIGTERM.
"""
from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field

import zmq

from kpid_harness import toml_config
from kpid_replica import DAY_MS, HOUR_MS

MAX_MESSAGE = 4 << 20


@dataclass
class Case:
    """One hostile message. `reason` is the exact reject reason, or None when the input is valid
    and must be counted as one `good` event under group key `name` (with `amount` for `pay`)."""
    name: str
    reason: str | None
    frames: list[bytes]
    amount: float | None = None


@dataclass
class Probed:
    """Messages sent so far, and what they should add up to."""
    messages: int = 0
    rejects: dict[str, int] = field(default_factory=dict)
    probes: list[str] = field(default_factory=list)


def send_probed(sock: zmq.Socket, cases: list[Case], ts: int, sent: Probed) -> None:
    """Sends each case followed by a probe event keyed by the case's name (one message each)."""
    for c in cases:
        sock.send_multipart(c.frames)
        sent.messages += 1
        if c.reason:
            sent.rejects[c.reason] = sent.rejects.get(c.reason, 0) + 1
        sock.send(json.dumps({"type": "probe", "ts": ts, "k": c.name}).encode())
        sent.messages += 1
        sent.probes.append(c.name)


def hostile_cases(now: int, ts: int) -> list[Case]:
    rng = random.Random(7)
    ev = lambda body: b'{"type":"good","ts":%d,%s}' % (ts, body)  # noqa: E731
    deep = 10_000
    mib = b"x" * (1 << 20)
    ascii_garbage = bytes(rng.choice(b"abc{}[]:,\"\\ 0123456789") for _ in range(4096)).replace(b"\n", b" ")
    binary_garbage = bytes(rng.randrange(1, 256) for _ in range(4096)).replace(b"\n", b" ")
    return [
        # Truncated JSON.
        Case("truncated", "malformed_json", [ev(b'"k":"tr')[:-1]]),
        Case("truncated_escape", "malformed_json", [b'{"type":"good","ts":%d,"k":"\\u12' % ts]),
        Case("truncated_after_colon", "malformed_json", [b'{"type":"good","ts":']),
        # Invalid UTF-8, overlong encodings, surrogates (raw bytes and escapes).
        Case("utf8_invalid", "invalid_utf8", [ev(b'"k":"\xff\xfe"')]),
        Case("utf8_invalid_skipped_field", "invalid_utf8", [ev(b'"k":"a","other":"\x80"')]),
        Case("utf8_overlong_2", "invalid_utf8", [ev(b'"k":"\xc0\xaf"')]),
        Case("utf8_overlong_3", "invalid_utf8", [ev(b'"k":"\xe0\x80\xaf"')]),
        Case("utf8_raw_surrogate", "invalid_utf8", [ev(b'"k":"\xed\xa0\x80"')]),
        Case("utf8_above_10ffff", "invalid_utf8", [ev(b'"k":"\xf4\x90\x80\x80"')]),
        Case("escape_high_surrogate", "invalid_utf8", [ev(b'"k":"\\ud800"')]),
        Case("escape_low_surrogate", "invalid_utf8", [ev(b'"k":"\\udc00x"')]),
        Case("escape_reversed_pair", "invalid_utf8", [ev(b'"k":"\\udc00\\ud800"')]),
        # Escapes inside a field no metric reads are never unescaped: the event counts.
        Case("escape_surrogate_skipped_field", None, [ev(b'"k":"escape_surrogate_skipped_field","note":"\\ud800"')]),
        Case("escape_pair_ok", None, [ev(b'"k":"escape_pair_ok","note":"\\ud83d\\ude00"')]),
        # Deep nesting: objects and arrays are rejected however deep, without exhausting the stack.
        Case("deep_arrays_in_field", "nested_value", [ev(b'"k":"x","n":' + b"[" * deep + b"]" * deep)]),
        Case("deep_objects_in_field", "nested_value", [ev(b'"k":"x","n":' + b'{"a":' * deep + b"1" + b"}" * deep)]),
        Case("deep_arrays_root", "not_object", [b"[" * deep + b"]" * deep]),
        Case("deep_unclosed", "malformed_json", [b'{"a":' + b"[" * deep]),
        # Numbers.
        Case("number_1e400", "bad_number", [b'{"type":"pay","ts":%d,"k":"x","amount":1e400}' % ts]),
        Case("number_minus_1e400_skipped", "bad_number", [ev(b'"k":"x","big":-1e400')]),
        Case("number_minus_zero", None, [b'{"type":"pay","ts":%d,"k":"number_minus_zero","amount":-0}' % ts], amount=-0.0),
        Case("number_tiny_underflows_to_zero", None,
             [b'{"type":"pay","ts":%d,"k":"number_tiny_underflows_to_zero","amount":1e-400}' % ts], amount=0.0),
        Case("literal_nan", "malformed_json", [b'{"type":"pay","ts":%d,"k":"x","amount":NaN}' % ts]),
        Case("literal_infinity", "malformed_json", [b'{"type":"pay","ts":%d,"k":"x","amount":Infinity}' % ts]),
        Case("literal_minus_infinity", "malformed_json", [b'{"type":"pay","ts":%d,"k":"x","amount":-Infinity}' % ts]),
        Case("number_leading_zero", "malformed_json", [b'{"type":"pay","ts":%d,"k":"x","amount":012}' % ts]),
        # Duplicate keys: rejected when kpid reads the key, harmless otherwise.
        Case("duplicate_read_key", "duplicate_key", [ev(b'"k":"a","k":"b"')]),
        Case("duplicate_type", "duplicate_key", [b'{"type":"good","type":"pay","ts":%d,"k":"x"}' % ts]),
        Case("duplicate_escaped_key", "duplicate_key", [ev(b'"k":"a","\\u006b":"b"')]),
        Case("duplicate_unread_key", None, [ev(b'"k":"duplicate_unread_key","z":1,"z":2')]),
        # 1 MiB strings: too long in a field kpid reads, ignored in one it does not.
        Case("string_1mib_read", "field_too_long", [ev(b'"k":"' + mib + b'"')]),
        Case("string_1mib_unread", None, [ev(b'"k":"string_1mib_unread","blob":"' + mib + b'"')]),
        Case("fields_300", "too_many_fields", [ev(b",".join(b'"f%d":%d' % (i, i) for i in range(300)) + b',"k":"x"')]),
        # ts in the years 0, 1970 and 9999.
        Case("ts_year_0_string", "late", [b'{"type":"good","ts":"0000-01-01T00:00:00Z","k":"x"}']),
        Case("ts_year_0_number", "late", [b'{"type":"good","ts":-62167219200000,"k":"x"}']),
        Case("ts_1970", "late", [b'{"type":"good","ts":0,"k":"x"}']),
        Case("ts_year_9999", "ts_in_future", [b'{"type":"good","ts":"9999-12-31T23:59:59.999Z","k":"x"}']),
        Case("ts_beyond_9999", "bad_ts", [b'{"type":"good","ts":1e20,"k":"x"}']),
        Case("ts_year_10000_string", "bad_ts", [b'{"type":"good","ts":"10000-01-01T00:00:00Z","k":"x"}']),
        # A type that conflicts with the topic.
        Case("type_vs_topic", "type_topic_mismatch", [b"good", b'{"type":"pay","ts":%d,"k":"x","amount":1}' % ts]),
        Case("type_vs_topic_prefix", "type_topic_mismatch", [b"goo", ev(b'"k":"x"')]),
        # Zero-length frames.
        Case("empty_single_frame", "empty_frame", [b""]),
        Case("empty_payload_after_topic", "empty_frame", [b"good", b""]),
        Case("empty_topic_and_payload", "empty_frame", [b"", b""]),
        Case("empty_topic_is_no_topic", None, [b"", ev(b'"k":"empty_topic_is_no_topic"')]),
        # Three-frame (and more) messages.
        Case("three_frames", "too_many_frames", [b"good", ev(b'"k":"x"'), b"extra"]),
        Case("three_empty_frames", "too_many_frames", [b"", b"", b""]),
        Case("five_frames", "too_many_frames", [b"a", b"b", b"c", b"d", b"e"]),
        # Binary garbage.
        Case("garbage_ascii", "malformed_json", [ascii_garbage]),
        # Structural errors are found before invalid UTF-8 in the same bytes.
        Case("garbage_binary", "malformed_json", [binary_garbage]),
        Case("nul_in_string", "malformed_json", [ev(b'"k":"a\x00b"')]),
        Case("nul_bytes", "malformed_json", [b"\x00" * 64]),
    ]


def test_hostile_input_is_counted_under_exact_reasons_and_the_next_event_still_counts(kpid_factory, free_ports):
    now = int(time.time() * 1000)
    ts = now - HOUR_MS // 2
    port, = free_ports(1)
    config = toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "1h", "flush_interval": "200ms", "max_future": "10m"},
        sources=[{"name": "api", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"]}],
        metrics=[
            {"name": "probes", "events": ["probe"], "aggregate": "count", "group_by": ["k"], "windows": ["day"]},
            {"name": "goods", "events": ["good"], "aggregate": "count", "group_by": ["k"], "windows": ["day"]},
            {"name": "amounts", "events": ["pay"], "aggregate": "sum(amount)", "group_by": ["k"], "windows": ["day"]},
        ],
    ).replace("\n[[sources]]", f"\n[limits]\nmax_message_bytes = {MAX_MESSAGE}\n\n[[sources]]", 1)
    kpid = kpid_factory(config)
    cases = hostile_cases(now, ts)

    ctx = zmq.Context()
    sent = Probed()
    try:
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 10_000)
        s.connect(f"tcp://127.0.0.1:{port}")
        # A first probe sets the watermark, so that the old timestamps below are late.
        send_probed(s, [Case("warmup", None, [json.dumps({"type": "good", "ts": ts, "k": "warmup"}).encode()])], ts, sent)
        send_probed(s, cases, ts, sent)
        kpid.wait_until(lambda: kpid.counter("messages_received", source="api") >= sent.messages, timeout=60,
                        what=f"messages_received to reach {sent.messages}")

        # A message above max_message_bytes, on its own connection: libzmq drops that connection
        # (counted as peer_disconnects) and the other connection keeps delivering.
        assert kpid.counter_sum("peer_disconnects", source="api") == 0
        big = ctx.socket(zmq.PUSH)
        big.setsockopt(zmq.LINGER, 2_000)
        big.setsockopt(zmq.RECONNECT_IVL, -1)  # one connection, one disconnect
        big.connect(f"tcp://127.0.0.1:{port}")
        big.send(b'{"type":"good","ts":%d,"k":"big","pad":"' % ts + b"x" * MAX_MESSAGE + b'"}')
        kpid.wait_until(lambda: kpid.counter_sum("peer_disconnects", source="api") >= 1, timeout=30,
                        what="the oversized message's connection to be dropped and counted")
        big.close(linger=0)
        send_probed(s, [Case("after_oversized", None, [ev_good(ts, "after_oversized")])], ts, sent)

        def probes_done() -> bool:
            rows = kpid.aggregate_rows()
            return all(rows.get(("probes", "day", day_start(ts), json.dumps({"k": p}, separators=(",", ":")),
                                 ), (None, 0))[1] >= 1 for p in sent.probes)
        kpid.wait_until(probes_done, timeout=30, what="every probe in the aggregates")
        # Only the oversized message's connection was dropped (closing `s` below adds another).
        assert kpid.counter_sum("peer_disconnects", source="api") == 1
        assert kpid.alive()
        s.close()
    finally:
        ctx.term()
    kpid.stop()  # asserts exit status 0 after SIGTERM

    # Exactly one reject per hostile case, under its exact reason, and no other rejects.
    for reason, n in sent.rejects.items():
        assert kpid.counter("rejects", reason=reason, source="api") == n, "\n".join(f"{r['reason']} {bytes(r['sample'][:70])!r}" for r in kpid.rejects_table())
    unexpected = {lab: v for (n, lab), v in kpid.counters().items()
                  if n == "rejects" and v and json.loads(lab)["reason"] not in sent.rejects}
    assert unexpected == {}, unexpected
    assert kpid.counter("messages_received", source="api") == sent.messages  # the oversized one never arrived

    rows = kpid.aggregate_rows()
    day = day_start(ts)

    def value(metric: str, k: str):
        return rows.get((metric, "day", day, json.dumps({"k": k}, separators=(",", ":"))), (None, None, 0))[1:3]

    for p in sent.probes:
        assert value("probes", p) == (1, 1), f"probe after {p}"
    accepted = [c for c in cases if c.reason is None] + [Case("warmup", None, []), Case("after_oversized", None, [])]
    for c in accepted:
        if c.amount is not None:
            v, n = value("amounts", c.name)
            assert n == 1 and v == c.amount, (c.name, v, n)
        else:
            assert value("goods", c.name) == (1, 1), c.name
    goods = {k[3] for k in rows if k[0] == "goods"}
    assert goods == {json.dumps({"k": c.name}, separators=(",", ":")) for c in accepted if c.amount is None}


def ev_good(ts: int, k: str) -> bytes:
    return json.dumps({"type": "good", "ts": ts, "k": k}).encode()


def day_start(ts: int) -> str:
    from kpid_replica import rfc3339_utc, window
    return rfc3339_utc(window(ts, "day", "UTC")[0])
