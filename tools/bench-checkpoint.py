#!/usr/bin/env python3
"""Cost of state checkpoints with a large state: 1M live dedupe keys and a 1M-element exact
weekly distinct set (issue 6, "Speed").

One run, with the real kpid (PUSH/PULL on tcp loopback, pyzmq publisher):
  1. build:  1M clicks from 1M distinct visitors (listing l0, all within 5 minutes): the weekly
             distinct set (distinct_exact_max = 2,000,000, so it stays exact) and the dedupe table
             reach 1M each; every element and key is written once, incrementally, by the flushes.
  2. steady: 300k clicks of known visitors, duplicates within the 5 minutes: with 1M elements of
             state, each flush writes only what changed. The baseline, in the same run, is a kpid
             started on an empty database that is sent the same 300k clicks twice; its second
             pass (the same work, over a state of 300k) is measured. The ratio is the steady
             throughput with the big state over the baseline's.
  3. restart: SIGKILL, then the time from spawn to `kpid ready` with the 1M + 1M state loaded,
             against the time to ready on an empty database (the same run).
Checkpoint and flush durations come from kpid's /metrics (kpid_checkpoint_duration_seconds,
kpid_flush_duration_seconds: sum / count per phase).

    swift build -c release && python3 tools/bench-checkpoint.py --release [--elements 1000000]
"""
import argparse, json, os, re, signal, socket, sqlite3, subprocess, sys, tempfile, time, urllib.request

import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(pull, status, flush):
    return f"""
[kpid]
time_zone = "UTC"
allowed_lateness = "30d"
flush_interval = "{flush}"
max_future = "1h"
[storage]
path = "bench.db"
[status]
listen = "127.0.0.1:{status}"
[[sources]]
name = "app"
kind = "pull"
bind = ["tcp://127.0.0.1:{pull}"]
receive_hwm = 1000
[[pipelines]]
name = "q"
events = ["click"]
filters = ["duplicate"]
dedupe_key = ["visitor", "listing"]
dedupe_window = "5m"
max_dedupe_keys = 4000000
[[metrics]]
name = "weekly_visitors"
events = ["click"]
aggregate = "distinct(visitor)"
windows = ["week"]
distinct_exact_max = 2000000
[[metrics]]
name = "qualified_clicks"
pipeline = "q"
aggregate = "count"
windows = ["hour"]
"""


def messages(visitors, ts0, batch=1000):
    out, cur = [], []
    for i, v in enumerate(visitors):
        cur.append('{"type":"click","ts":%d,"visitor":"v%d","listing":"l0"}' % (ts0 + i * 100 // max(1, len(visitors) // 1000), v))
        if len(cur) == batch:
            out.append("\n".join(cur).encode())
            cur = []
    if cur:
        out.append("\n".join(cur).encode())
    return out


class Daemon:
    def __init__(self, bin_dir, tmp, flush):
        self.pull, self.status = free_port(), free_port()
        self.tmp = tmp
        self.cfg = os.path.join(tmp, "kpid.toml")
        open(self.cfg, "w").write(config(self.pull, self.status, flush))
        self.db = os.path.join(tmp, "bench.db")
        self.bin = os.path.join(bin_dir, "kpid")
        self.p = None

    def start(self):
        t0 = time.monotonic()
        self.log = open(os.path.join(self.tmp, "kpid.log"), "w+")
        self.p = subprocess.Popen([self.bin, "--config", self.cfg, "--db", self.db], stdout=self.log, stderr=subprocess.STDOUT,
                                  cwd=self.tmp)
        while True:
            self.log.seek(0)
            text = self.log.read()
            if "kpid ready" in text:
                ready = time.monotonic() - t0
                m = re.search(r'msg="state restored".*?seconds=([0-9.e-]+)', text)
                return ready, float(m.group(1)) if m else None
            if self.p.poll() is not None:
                sys.exit(f"kpid exited {self.p.returncode}:\n{text}")
            time.sleep(0.005)

    def received(self):
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT COALESCE(SUM(value),0) FROM counters WHERE name='events_received'").fetchone()[0]
        finally:
            conn.close()

    def push(self, msgs, total_after):
        ctx = zmq.Context.instance()
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.SNDHWM, 100000)
        s.connect(f"tcp://127.0.0.1:{self.pull}")
        t0 = time.monotonic()
        for m in msgs:
            s.send(m)
        while self.received() < total_after:
            time.sleep(0.01)
        t = time.monotonic() - t0
        s.close(linger=0)
        return t

    def metric_sums(self):
        text = urllib.request.urlopen(f"http://127.0.0.1:{self.status}/metrics", timeout=5).read().decode()
        out = {}
        for name in ("kpid_checkpoint_duration_seconds", "kpid_flush_duration_seconds"):
            s = re.search(rf"^{name}_sum(?:{{}})? ([0-9.e+-]+)$", text, re.M)
            c = re.search(rf"^{name}_count(?:{{}})? ([0-9.e+-]+)$", text, re.M)
            out[name] = (float(s.group(1)) if s else 0.0, int(float(c.group(1))) if c else 0)
        return out

    def kill(self):
        self.p.send_signal(signal.SIGKILL)
        self.p.wait()

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        self.p.wait(timeout=30)


def per_flush(before, after, name):
    s = after[name][0] - before[name][0]
    c = after[name][1] - before[name][1]
    return round(1000 * s / c, 3) if c else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--elements", type=int, default=1_000_000)
    ap.add_argument("--steady", type=int, default=300_000)
    ap.add_argument("--flush", default="1s")
    ap.add_argument("--release", action="store_true")
    a = ap.parse_args()
    bin_dir = os.path.join(ROOT, ".build", "release" if a.release else "debug")
    ts0 = int(time.time() * 1000) - 4 * 60_000
    build = messages(range(a.elements), ts0)
    steady = messages([(i * 7919) % a.elements for i in range(a.steady)], ts0 + 1_000)
    result = {"elements": a.elements, "steady_events": a.steady, "flush_interval": a.flush}
    with tempfile.TemporaryDirectory() as tmp_empty, tempfile.TemporaryDirectory() as tmp:
        # Baseline, same run: an empty database, then the steady clicks twice; the second pass is
        # measured (known visitors, duplicate clicks: the same work as the steady phase below, over
        # a state of the steady visitors only).
        base = Daemon(bin_dir, tmp_empty, a.flush)
        result["ready_empty_s"] = round(base.start()[0], 3)
        base.push(steady, a.steady)
        time.sleep(2.5)
        m0 = base.metric_sums()
        t = base.push(steady, 2 * a.steady)
        time.sleep(2.5)
        m1 = base.metric_sums()
        result["steady_small_state_events_per_s"] = round(a.steady / t)
        result["steady_small_state_checkpoint_ms_per_flush"] = per_flush(m0, m1, "kpid_checkpoint_duration_seconds")
        base.stop()

        big = Daemon(bin_dir, tmp, a.flush)
        big.start()
        m0 = big.metric_sums()
        t = big.push(build, a.elements)
        time.sleep(2.5)  # the last flushes of the build
        m1 = big.metric_sums()
        result["build_events_per_s"] = round(a.elements / t)
        result["build_checkpoint_ms_per_flush"] = per_flush(m0, m1, "kpid_checkpoint_duration_seconds")
        result["build_checkpoint_s_total"] = round(m1["kpid_checkpoint_duration_seconds"][0] - m0["kpid_checkpoint_duration_seconds"][0], 3)
        t = big.push(steady, a.elements + a.steady)
        time.sleep(2.5)
        m2 = big.metric_sums()
        result["steady_with_state_events_per_s"] = round(a.steady / t)
        result["steady_with_state_checkpoint_ms_per_flush"] = per_flush(m1, m2, "kpid_checkpoint_duration_seconds")
        result["steady_with_state_flush_ms_per_flush"] = per_flush(m1, m2, "kpid_flush_duration_seconds")
        result["steady_ratio_big_state_over_small"] = round(result["steady_with_state_events_per_s"]
                                                            / result["steady_small_state_events_per_s"], 3)
        big.kill()
        conn = sqlite3.connect(big.db)
        result["state_distinct_rows"] = conn.execute("SELECT count(*) FROM state_distinct").fetchone()[0]
        result["state_dedupe_rows"] = conn.execute("SELECT count(*) FROM state_dedupe").fetchone()[0]
        conn.close()
        result["database_mib"] = round(sum(os.path.getsize(p) for p in (big.db, big.db + "-wal") if os.path.exists(p)) / 2**20, 1)
        ready, restored = big.start()
        result["ready_with_state_s"] = round(ready, 3)
        result["state_restore_s"] = restored
        result["ready_ratio_with_state_over_empty"] = round(ready / result["ready_empty_s"], 2)
        got = sqlite3.connect(f"file:{big.db}?mode=ro", uri=True).execute(
            "SELECT value FROM aggregates WHERE metric='weekly_visitors' ORDER BY window_start DESC LIMIT 1").fetchone()[0]
        assert got == a.elements, f"weekly_visitors {got} != {a.elements}"
        # The restored set and dedupe keys hold: the steady clicks again change neither.
        big.push(steady[:10], a.elements + a.steady + 10_000)
        big.stop()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
