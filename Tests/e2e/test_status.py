"""The HTTP status listener of the real kpid: /metrics in the Prometheus text format with the
health counters, /healthz 200 while healthy and 503 while flushes cannot be written."""
from __future__ import annotations

import json
import sqlite3
import time
import urllib.error
import urllib.request

import zmq

from kpid_harness import toml_config


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def config(port: int) -> str:
    return toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "1h", "flush_interval": "100ms"},
        sources=[{"name": "api", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"]}],
        metrics=[{"name": "n", "events": ["e"], "aggregate": "count", "windows": ["hour"]}],
    )


def sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            return float(value)
    return None


def test_metrics_expose_the_health_counters_and_healthz_is_ok(kpid_factory, free_ports):
    port, = free_ports(1)
    kpid = kpid_factory(config(port))
    assert kpid.status_url and kpid.status_url.startswith("http://127.0.0.1:"), kpid.status_url
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, 5000)
    s.connect(f"tcp://127.0.0.1:{port}")
    now = int(time.time() * 1000)
    s.send(b"\n".join([json.dumps({"type": "e", "ts": now}).encode()] * 5 + [b"{broken", b"[1]"]))
    kpid.wait_until(lambda: sample(get(kpid.status_url + "/metrics")[1], "kpid_events_received_total",
                                   source="api", type="e") == 5, timeout=15, what="events in /metrics")
    status, text = get(kpid.status_url + "/metrics")
    assert status == 200
    assert sample(text, "kpid_rejects_total", reason="malformed_json", source="api") == 1
    assert sample(text, "kpid_rejects_total", reason="not_object", source="api") == 1
    assert sample(text, "kpid_flush_duration_seconds_count") >= 1
    assert sample(text, "kpid_database_bytes") > 0
    assert sample(text, "kpid_open_windows") == 1
    # The numbers agree with the counters table.
    assert kpid.counter("events_received", source="api", type="e") == 5
    assert get(kpid.status_url + "/healthz") == (200, "ok\n")
    s.close()
    ctx.term()
    kpid.stop()


def test_healthz_is_503_while_flushes_fail_and_recovers(kpid_factory, free_ports):
    port, = free_ports(1)
    kpid = kpid_factory(config(port))
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, 5000)
    s.connect(f"tcp://127.0.0.1:{port}")
    blocker = sqlite3.connect(kpid.db_path, timeout=1, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # no writer gets in for longer than kpid's 5 s busy timeout
        s.send(json.dumps({"type": "e", "ts": int(time.time() * 1000)}).encode())
        kpid.wait_until(lambda: get(kpid.status_url + "/healthz")[0] == 503, timeout=20, what="503 while locked")
        code, text = get(kpid.status_url + "/healthz")
        assert "failed" in text
        assert sample(get(kpid.status_url + "/metrics")[1], "kpid_flush_failures_total") >= 1
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    kpid.wait_until(lambda: get(kpid.status_url + "/healthz")[0] == 200, timeout=20, what="200 after the lock")
    kpid.wait_until(lambda: kpid.counter("events_received", source="api", type="e") == 1, timeout=10,
                    what="the delayed flush written")
    s.close()
    ctx.term()
    kpid.stop()


def test_a_status_port_in_use_stops_kpid_with_the_address(kpid_bin, tmp_path, free_ports):
    """The listener cannot bind: kpid must exit 69 naming [status] and the address, not run on
    without its health endpoint (nor hang, ignoring SIGTERM, as it once did)."""
    import socket
    import subprocess

    port, = free_ports(1)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen(1)
    status_port = taken.getsockname()[1]
    try:
        text = config(port).replace('listen = "127.0.0.1:0"', f'listen = "127.0.0.1:{status_port}"')
        assert f"127.0.0.1:{status_port}" in text
        path = tmp_path / "kpid.toml"
        path.write_text(text)
        p = subprocess.run([kpid_bin, "--config", str(path), "--db", str(tmp_path / "kpid.db")],
                           capture_output=True, text=True, timeout=30)
    finally:
        taken.close()
    assert p.returncode == 69, (p.returncode, p.stderr[-2000:])
    assert f"status listener [status] 127.0.0.1:{status_port}" in p.stderr, p.stderr[-2000:]
    assert "kpid ready" not in p.stdout
