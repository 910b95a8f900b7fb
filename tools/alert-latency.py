#!/usr/bin/env python3
"""Alert latency: from the event that crosses a threshold (rule with `for = 0`) to the webhook
request arriving, on the real kpid and a real HTTP server process (Tests/e2e/webhook_recorder.py).

The issue's target is at most 2 × flush_interval. For each flush interval given, one kpid runs
with one rule (`value >= 3` per tenant and minute, group_wait 0); each round sends two events of
a fresh tenant, waits, then the third (the crossing one) and times the webhook request that
follows, at a random phase of the flush timer. Times are the publisher's clock after the send and the recorder's arrival time, on the
same machine.

    KPID_BIN=.build/debug/kpid python3 tools/alert-latency.py [--rounds 20] [--flush 1s,200ms]
"""
import argparse, json, os, random, socket, statistics, subprocess, sys, tempfile, time

import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def millis(d):
    return int(d[:-2]) if d.endswith("ms") else int(float(d[:-1]) * 1000)


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    sys.exit(f"nothing listens on {port}")


def run(kpid, flush, rounds, work):
    hook_port, zport = free_port(), free_port()
    log = os.path.join(work, f"hook-{flush}.jsonl")
    hook = subprocess.Popen([sys.executable, os.path.join(ROOT, "Tests/e2e/webhook_recorder.py"), str(hook_port), log])
    wait_port(hook_port)
    conf = os.path.join(work, f"kpid-{flush}.toml")
    with open(conf, "w") as f:
        f.write(f"""[kpid]
flush_interval = "{flush}"
[[sources]]
name = "in"
kind = "pull"
bind = ["tcp://127.0.0.1:{zport}"]
[[metrics]]
name = "errors"
events = ["req"]
aggregate = "count"
group_by = ["tenant"]
windows = ["minute"]
[alerting]
group_by = ["alertname", "tenant"]
group_wait = "0s"
group_interval = "1s"
[[receivers]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:{hook_port}/hook"
[[alerts]]
name = "tenant_errors"
metric = "errors"
condition = "value >= 3"
""")
    out = open(os.path.join(work, f"kpid-{flush}.log"), "wb")
    k = subprocess.Popen([kpid, "--config", conf, "--db", os.path.join(work, f"kpid-{flush}.db")], stdout=out, stderr=out)
    deadline = time.monotonic() + 30
    while b'msg="kpid ready"' not in open(out.name, "rb").read():
        if time.monotonic() > deadline or k.poll() is not None:
            sys.exit(f"kpid did not start: {open(out.name).read()[-2000:]}")
        time.sleep(0.05)
    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH)
    s.connect(f"tcp://127.0.0.1:{zport}")
    period = millis(flush) / 1000
    latencies = []
    try:
        for i in range(rounds):
            tenant = f"t{i}"
            ts = int(time.time() * 1000)
            ev = json.dumps({"type": "req", "ts": ts, "tenant": tenant}).encode()
            s.send(ev)
            s.send(ev)
            # The two are flushed; then a random phase against the flush timer, so that the
            # figures cover the whole range from just before a flush to just after one.
            time.sleep(period * 1.5 + random.random() * period)
            seen = count(log)
            s.send(ev)
            crossed = time.time()
            deadline = time.monotonic() + 10 * period + 5
            while count(log) == seen:
                if time.monotonic() > deadline:
                    sys.exit(f"no webhook request for {tenant}")
                time.sleep(0.002)
            arrived = [json.loads(x) for x in open(log) if x.strip()][-1]["t"]
            latencies.append((arrived - crossed) * 1000)
    finally:
        s.close(linger=0)
        ctx.term()
        k.terminate()
        k.wait(10)
        hook.terminate()
        hook.wait(5)
    latencies.sort()
    return {"flush_interval": flush, "rounds": rounds, "target_ms": 2 * millis(flush),
            "median_ms": round(statistics.median(latencies)), "p90_ms": round(latencies[int(0.9 * (len(latencies) - 1))]),
            "max_ms": round(latencies[-1]), "min_ms": round(latencies[0]),
            "within_target": sum(1 for x in latencies if x <= 2 * millis(flush))}


def count(log):
    if not os.path.exists(log):
        return 0
    with open(log) as f:
        return sum(1 for line in f if line.strip())


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--flush", default="1s,200ms")
    a = p.parse_args()
    kpid = os.environ.get("KPID_BIN", os.path.join(ROOT, ".build/debug/kpid"))
    with tempfile.TemporaryDirectory(prefix="kpid-alert-latency-") as work:
        for flush in a.flush.split(","):
            print(json.dumps(run(kpid, flush, a.rounds, work)))


if __name__ == "__main__":
    main()
