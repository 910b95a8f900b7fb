"""Loss you can see: publishers stamp `src` and `seq`; kpid counts gaps, duplicates and resets per
src in `counters`. Over PUB/SUB with a tiny high-water mark, the gaps must equal exactly the number
of events published but never received."""
from __future__ import annotations

import json
import time

import zmq

from kpid_harness import run_kpictl, toml_config


def config(port: int, kind: str, hwm: int = 100000) -> str:
    return toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "1h", "flush_interval": "100ms"},
        sources=[{"name": "in", "kind": kind, "bind": [f"tcp://127.0.0.1:{port}"], "receive_hwm": hwm}],
        metrics=[{"name": "n", "events": ["e"], "aggregate": "count", "windows": ["hour"]}],
    )


def event(src: str, seq: int) -> bytes:
    return json.dumps({"type": "e", "ts": int(time.time() * 1000), "src": src, "seq": seq}).encode()


def test_gaps_duplicates_and_resets_per_src(kpid_factory, free_ports):
    port, = free_ports(1)
    kpid = kpid_factory(config(port, "pull"))
    a = [*range(1, 41), *range(51, 101), 100, 97, *range(1, 11)]   # 10 missing, 2 duplicates, 1 reset
    b = list(range(1, 31))
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, 5000)
    s.connect(f"tcp://127.0.0.1:{port}")
    for i in range(max(len(a), len(b))):
        if i < len(a):
            s.send(event("scraper-a", a[i]))
        if i < len(b):
            s.send(event("web-b", b[i]))
    total = len(a) + len(b)
    kpid.wait_until(lambda: kpid.counter_sum("events_received") == total, timeout=30, what="all events")
    s.close()
    ctx.term()
    kpid.stop()
    assert kpid.counter("seq_gaps", src="scraper-a") == 10
    assert kpid.counter("seq_duplicates", src="scraper-a") == 2
    assert kpid.counter("seq_resets", src="scraper-a") == 1
    assert kpid.counter_sum("seq_gaps", src="web-b") == 0
    assert kpid.counter_sum("seq_duplicates", src="web-b") == 0


def test_pub_sub_overflow_shows_up_as_gaps_equal_to_the_loss(kpid_factory, free_ports):
    port, = free_ports(1)
    kpid = kpid_factory(config(port, "sub", hwm=10))
    ctx = zmq.Context()
    pub = ctx.socket(zmq.PUB)
    pub.setsockopt(zmq.SNDHWM, 10)
    pub.connect(f"tcp://127.0.0.1:{port}")
    time.sleep(0.5)  # let the subscription arrive
    n = 30000
    for seq in range(1, n + 1):
        pub.send(event("burst", seq))  # PUB never blocks: beyond the HWMs, messages are dropped
    pub.send(event("burst", n + 1))
    time.sleep(1.0)
    # A last event after a pause is delivered, so every drop before it is a visible gap.
    pub.send(event("burst", n + 2))
    kpid.wait_until(lambda: kpid.counter("seq_gaps", src="burst") + kpid.counter_sum("events_received") >= n + 2,
                    timeout=30, what="received + gaps to cover every published event")
    pub.close()
    ctx.term()
    kpid.stop()
    received = kpid.counter_sum("events_received")
    gaps = kpid.counter("seq_gaps", src="burst")
    assert received + gaps == n + 2
    assert gaps > 0, "the tiny high-water marks must have dropped something"


def test_kpictl_publish_stamps_src_and_seq_and_a_second_run_is_a_reset(kpid_factory, free_ports, kpictl_bin):
    port, = free_ports(1)
    kpid = kpid_factory(config(port, "pull"))
    lines = "\n".join(json.dumps({"type": "e", "ts": int(time.time() * 1000), "i": i}) for i in range(20)) + "\n{}\n"
    for run in range(2):
        r = run_kpictl(kpictl_bin, "publish", "--endpoint", f"tcp://127.0.0.1:{port}", "--src", "ctl", "--batch", "7",
                       input_bytes=lines.encode())
        assert r.returncode == 0, r.stderr
    kpid.wait_until(lambda: kpid.counter_sum("events_received") == 40, timeout=30, what="40 typed events")
    kpid.wait_until(lambda: kpid.counter_sum("rejects", reason="missing_type") == 2, timeout=30, what="the {} lines")
    kpid.stop()
    assert kpid.counter("seq_resets", src="ctl") == 1
    assert kpid.counter_sum("seq_gaps") == 0
    assert kpid.counter_sum("seq_duplicates") == 0
