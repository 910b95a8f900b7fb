"""`--log-format json`: every line kpid writes to stdout is one JSON object with ts, level and
msg, startup prints the config summary, and nothing is logged per event at the default level."""
from __future__ import annotations

import json
import signal
import subprocess
import time

import sqlite3

from kpid_harness import push_messages, toml_config


def received(db) -> int:
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return conn.execute("SELECT COALESCE(SUM(value), 0) FROM counters WHERE name = 'events_received'").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def test_json_logs_are_one_object_per_line_and_quiet_per_event(kpid_bin, tmp_path, free_ports):
    port, = free_ports(1)
    config = toml_config(kpid={"flush_interval": "100ms"},
                         sources=[{"name": "app", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"]}],
                         metrics=[{"name": "n", "events": ["e"], "aggregate": "count", "windows": ["hour"]}])
    (tmp_path / "kpid.toml").write_text(config)
    out = open(tmp_path / "out.log", "wb")
    p = subprocess.Popen([kpid_bin, "--config", str(tmp_path / "kpid.toml"), "--db", str(tmp_path / "kpid.db"),
                          "--log-format", "json"], stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 20
        while b'"msg":"kpid ready"' not in (tmp_path / "out.log").read_bytes():
            assert p.poll() is None and time.monotonic() < deadline, (tmp_path / "out.log").read_text()
            time.sleep(0.05)
        now = int(time.time() * 1000)
        push_messages(f"tcp://127.0.0.1:{port}",
                      [b"\n".join(json.dumps({"type": "e", "ts": now - j}).encode() for j in range(i, i + 100))
                       for i in range(0, 2_000, 100)])
        db = tmp_path / "kpid.db"
        while received(db) < 2_000:
            assert p.poll() is None and time.monotonic() < deadline + 20, "events not counted"
            time.sleep(0.05)
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=15) == 0
        out.close()
    lines = (tmp_path / "out.log").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert all(list(r)[:3] == ["ts", "level", "msg"] for r in records)
    msgs = [r["msg"] for r in records]
    assert "config loaded" in msgs and "config" in msgs and "kpid ready" in msgs and "kpid stopped" in msgs
    assert len(lines) < 60, "nothing per event: 2,000 events, a few dozen lines at most"


def test_an_unknown_log_format_is_refused(kpid_bin, tmp_path):
    r = subprocess.run([kpid_bin, "--log-format", "xml", "--config", str(tmp_path / "none.toml")], capture_output=True, timeout=10)
    assert r.returncode == 64
    assert b"--log-format must be logfmt or json" in r.stderr
