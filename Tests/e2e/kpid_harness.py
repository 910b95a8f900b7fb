"""Helpers of the kpid end-to-end tests: binaries, ports, TOML, the `Kpid` process wrapper."""
from __future__ import annotations

import json
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import zmq

REPO = Path(__file__).resolve().parents[2]
KPID_BIN = os.environ.get("KPID_BIN", str(REPO / ".build" / "debug" / "kpid"))
KPICTL_BIN = os.environ.get("KPICTL_BIN", str(REPO / ".build" / "debug" / "kpictl"))

READY_TIMEOUT = 20.0
STOP_TIMEOUT = 20.0


def _require(path: str, env: str) -> str:
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        pytest.fail(f"{path} is not an executable; build it (swift build) or set {env}")
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# TOML
# ---------------------------------------------------------------------------------------------

def toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a valid TOML basic string
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(v)


def toml_config(kpid: dict, sources: list[dict], metrics: list[dict], storage: dict | None = None,
                pipelines: list[dict] | None = None, status: dict | None = None) -> str:
    """A kpid.toml; the status listener takes a free loopback port unless `status` says otherwise."""
    lines = ["[kpid]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in kpid.items()]
    lines += ["", "[storage]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in (storage or {"path": "kpid.db"}).items()]
    lines += ["", "[status]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in (status or {"listen": "127.0.0.1:0"}).items()]
    for s in sources:
        lines += ["", "[[sources]]"] + [f"{k} = {toml_value(v)}" for k, v in s.items()]
    for p in pipelines or []:
        lines += ["", "[[pipelines]]"] + [f"{k} = {toml_value(v)}" for k, v in p.items()]
    for m in metrics:
        lines += ["", "[[metrics]]"] + [f"{k} = {toml_value(v)}" for k, v in m.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# The daemon
# ---------------------------------------------------------------------------------------------

class Kpid:
    """One kpid process on a config written into `workdir`."""

    def __init__(self, binary: str, workdir: Path, config_text: str, name: str = "kpid"):
        self.binary = binary
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = workdir / f"{name}.toml"
        self.config_path.write_text(config_text, encoding="utf-8")
        self.db_path = workdir / f"{name}.db"
        self.stdout_path = workdir / f"{name}.stdout.log"
        self.stderr_path = workdir / f"{name}.stderr.log"
        self.proc: subprocess.Popen | None = None
        self.returncode: int | None = None
        self.status_url: str | None = None

    # -- process --------------------------------------------------------------------------------

    def start(self, timeout: float = READY_TIMEOUT, env: dict[str, str] | None = None) -> "Kpid":
        self._out = open(self.stdout_path, "wb")
        self._err = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, "--config", str(self.config_path), "--db", str(self.db_path)],
            cwd=self.workdir, stdout=self._out, stderr=self._err, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.stdout_path.read_text(errors="replace")
            if 'msg="kpid ready"' in out:
                m = re.search(r'msg="kpid ready".*?status=(http://\S+)', out)
                self.status_url = m.group(1) if m else None
                return self
            if self.proc.poll() is not None:
                pytest.fail(f"kpid exited with status {self.proc.returncode} before it was ready\n{self.logs()}")
            time.sleep(0.05)
        pytest.fail(f"kpid did not log msg=\"kpid ready\" within {timeout} s\n{self.logs()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, wait, and require exit status 0."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                pytest.fail(f"kpid did not exit within {timeout} s of SIGTERM\n{self.logs()}")
        self.returncode = self.proc.returncode
        self._close_logs()
        assert self.returncode == 0, f"kpid exited with status {self.returncode} after SIGTERM\n{self.logs()}"
        return self.returncode

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._close_logs()

    def sigkill_restarts(self, times: int, between: tuple[float, float], seed: int) -> list[float]:
        """SIGKILLs and restarts kpid `times` times, a seeded random `between` seconds apart, then
        lets it run 1 s; returns the monotonic times of the kills."""
        rng = random.Random(seed)
        kills: list[float] = []
        for _ in range(times):
            time.sleep(rng.uniform(*between))
            kills.append(time.monotonic())
            self.kill()
            self.start()
        time.sleep(1.0)
        return kills

    def _close_logs(self) -> None:
        for f in (getattr(self, "_out", None), getattr(self, "_err", None)):
            if f is not None and not f.closed:
                f.close()

    def logs(self, tail: int = 4000) -> str:
        out = self.stdout_path.read_text(errors="replace") if self.stdout_path.exists() else ""
        err = self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""
        return f"--- kpid stdout (tail) ---\n{out[-tail:]}\n--- kpid stderr (tail) ---\n{err[-tail:]}"

    # -- database -------------------------------------------------------------------------------

    def db(self) -> sqlite3.Connection:
        """A read-only connection to the database."""
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=5)
        conn.row_factory = sqlite3.Row
        return conn

    def _query(self, sql: str, args: tuple = ()) -> list[sqlite3.Row]:
        last: Exception | None = None
        for _ in range(50):
            try:
                conn = self.db()
                try:
                    return conn.execute(sql, args).fetchall()
                finally:
                    conn.close()
            except sqlite3.OperationalError as e:  # not created yet, or locked for a moment
                last = e
                time.sleep(0.1)
        raise AssertionError(f"cannot read {self.db_path}: {last}")

    def counters(self) -> dict[tuple[str, str], int]:
        """(name, labels JSON) -> value; empty while the table does not exist yet."""
        if not self.db_path.exists():
            return {}
        try:
            rows = self._query("SELECT name, labels, value FROM counters")
        except AssertionError:
            return {}
        return {(r["name"], r["labels"]): r["value"] for r in rows}

    def counter(self, name: str, **labels: str) -> int:
        want = json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return self.counters().get((name, want), 0)

    def counter_sum(self, name: str, **match: str) -> int:
        total = 0
        for (n, labels), v in self.counters().items():
            if n != name:
                continue
            lab = json.loads(labels)
            if all(lab.get(k) == val for k, val in match.items()):
                total += v
        return total

    def aggregate_rows(self) -> dict:
        """(metric, period, window_start, labels) -> (window_end, value, samples, final)."""
        rows = self._query("SELECT metric, period, window_start, window_end, labels, value, samples, final FROM aggregates")
        out = {}
        for r in rows:
            key = (r["metric"], r["period"], r["window_start"], r["labels"])
            assert key not in out, f"duplicate aggregates key {key}"
            out[key] = (r["window_end"], r["value"], r["samples"], r["final"])
        return out

    def rejects_table(self) -> list[sqlite3.Row]:
        return self._query("SELECT id, received_at, reason, source, metric, detail, sample FROM rejects ORDER BY id")

    def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.1) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                pytest.fail(f"kpid died while waiting for {what}\n{self.logs()}")
            if predicate():
                return
            time.sleep(interval)
        pytest.fail(f"timed out after {timeout} s waiting for {what}; counters: {self.counters()}\n{self.logs()}")


def receive_notify(sock: socket.socket, seconds: float) -> list[tuple[float, str]]:
    """The sd_notify datagrams that reach `sock` (an AF_UNIX datagram listener standing in for
    systemd) within `seconds`, each with its monotonic arrival time."""
    out = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            data = sock.recv(4096)
        except socket.timeout:
            break
        out.append((time.monotonic(), data.decode()))
    return out


def run_kpictl(kpictl_bin: str, *args: str, input_bytes: bytes | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([kpictl_bin, *args], input=input_bytes, capture_output=True, timeout=timeout)


def push_messages(endpoint: str, messages: list[bytes]) -> None:
    """PUSHes `messages` (pyzmq) to `endpoint` and returns once libzmq has handed them to the
    network (LINGER), without waiting for kpid to count them."""
    ctx = zmq.Context()
    try:
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 10_000)
        s.connect(endpoint)
        for m in messages:
            s.send(m)
        s.close()
    finally:
        ctx.term()


def push_ndjson(kpid: "Kpid", endpoint: str, events: list[dict], batch: int = 100, timeout: float = 60) -> None:
    """PUSHes `events` in order to `endpoint` as NDJSON messages of `batch` lines (pyzmq, a client
    we did not write) and waits until kpid has counted every one of them as received."""
    ctx = zmq.Context()
    try:
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 10_000)
        s.connect(endpoint)
        for i in range(0, len(events), batch):
            s.send(b"\n".join(json.dumps(e).encode() for e in events[i:i + batch]))
        kpid.wait_until(lambda: kpid.counter_sum("events_received") >= len(events), timeout=timeout,
                        what="all events")
        s.close()
    finally:
        ctx.term()
