"""The sd_notify protocol, spoken by the real kpid to a listener on a temp AF_UNIX datagram socket
(what systemd does for Type=notify): READY=1 only once the endpoints accept events, STATUS= with
live rates, WATCHDOG=1 from the ingest loop at least every WATCHDOG_USEC/2, STOPPING=1 on SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import socket
import time

import pytest
import zmq

from kpid_harness import receive_notify, toml_config


def config(port: int) -> str:
    return toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "1h", "flush_interval": "200ms"},
        sources=[{"name": "api", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"]}],
        metrics=[{"name": "n", "events": ["e"], "aggregate": "count", "windows": ["hour"]}],
    )


@pytest.mark.parametrize("abstract", [False, True], ids=["path", "abstract"])
def test_notify_ready_status_watchdog_stopping(kpid_factory, free_ports, short_tmp, abstract):
    port, = free_ports(1)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = f"@kpid-test-{os.getpid()}-{time.monotonic_ns()}"
        listener.bind("\0" + name[1:])
    else:
        name = str(short_tmp / "notify.sock")
        listener.bind(name)
    try:
        kpid = kpid_factory(config(port), start=False)
        kpid.start(env={"NOTIFY_SOCKET": name, "WATCHDOG_USEC": "400000"})  # keep-alive every ≤ 200 ms

        early = []
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any(m.startswith("READY=1") for _, m in early):
            early += receive_notify(listener, 0.5)
        ready = [m for _, m in early if m.startswith("READY=1")]
        assert ready and ready[0].startswith("READY=1\nSTATUS="), early
        # READY means the endpoint is bound: an event pushed now is received and counted.
        ctx = zmq.Context()
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 5000)
        s.connect(f"tcp://127.0.0.1:{port}")
        s.send(json.dumps({"type": "e", "ts": int(time.time() * 1000)}).encode())
        kpid.wait_until(lambda: kpid.counter_sum("events_received") == 1, timeout=10, what="the event")
        s.close()
        ctx.term()

        window = receive_notify(listener, 2.0)
        watchdogs = [t for t, m in window if "WATCHDOG=1" in m]
        assert len(watchdogs) >= 6, window  # 2 s at ≤ 200 ms intervals, with slack for a busy machine
        gaps = [b - a for a, b in zip(watchdogs, watchdogs[1:])]
        assert max(gaps) < 0.4, gaps
        statuses = [m for _, m in window if m.startswith("STATUS=")]
        assert statuses and "events/s" in statuses[-1] and "1 events" in statuses[-1], statuses

        kpid.proc.send_signal(signal.SIGTERM)
        assert kpid.proc.wait(timeout=20) == 0
        tail = [m for _, m in receive_notify(listener, 1.0)]
        assert any(m.startswith("STOPPING=1") for m in tail), tail
    finally:
        listener.close()
        if not abstract:
            os.unlink(name)


def test_without_notify_socket_nothing_is_required(kpid_factory, free_ports):
    port, = free_ports(1)
    kpid = kpid_factory(config(port))  # NOTIFY_SOCKET unset: starts and stops as before
    assert kpid.stop() == 0
