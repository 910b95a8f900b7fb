#!/usr/bin/env python3
"""Throughput of kpid over tcp loopback with CURVE on and off, at 1, 10 and 100 events per message.

Issue 7 "Speed". One kpid (release build, the shipped metrics of conf/kpid.toml) has two PULL
sources: `plain` and `secure` (CURVE, a pyzmq client key admitted through keys/clients). For each
(CURVE, batch) one pyzmq PUSH publisher sends N pre-built events as NDJSON messages of `batch`
events; the rate is N divided by the time from the first send until kpid's `events_received`
counters for that source have grown by N (SQLite, polled every 20 ms, flush_interval = 50ms).
A warm-up run on `plain` comes first and is not reported. Every rate is also given as a ratio to the plain batch-100 run of the same invocation. Runs are
sequential; PUSH/PULL loses nothing, so kpid must count every event (the script fails otherwise).

    python3 tools/bench-curve.py [--events 1000000] [--debug]
"""
import argparse, json, os, signal, sqlite3, subprocess, sys, tempfile, time

import zmq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module

bench_e2e = import_module("bench-e2e")
ROOT = bench_e2e.ROOT


def write_config(tmp, plain_ep, secure_ep, web_port):
    cfg = open(os.path.join(ROOT, "conf", "kpid.toml")).read()
    cfg = cfg.replace('flush_interval = "1s"', 'flush_interval = "50ms"')
    cfg = cfg.replace('allowed_lateness = "1m"', 'allowed_lateness = "30d"')
    cfg = cfg.replace('listen = "127.0.0.1:9465"', 'listen = "127.0.0.1:0"')  # never a leftover run's port
    cfg = cfg.replace('bot_patterns = "bots"', 'bot_patterns = "%s"' % os.path.join(ROOT, "conf", "bots"))
    cfg = cfg.replace('bind = ["tcp://127.0.0.1:5555"]', f'bind = ["tcp://127.0.0.1:{web_port}"]')
    cfg = cfg.replace('name = "api"\nkind = "pull"\nbind = ["tcp://127.0.0.1:5556"]',
                      f'name = "plain"\nkind = "pull"\nbind = ["{plain_ep}"]\n\n[[sources]]\nname = "secure"\n'
                      f'kind = "pull"\nbind = ["{secure_ep}"]\ncurve_secret_key = "keys/server.key_secret"\n'
                      f'curve_public_key = "keys/server.key"\ncurve_clients = "keys/clients"')
    assert 'name = "secure"' in cfg, "conf/kpid.toml changed: update bench-curve.py"
    path = os.path.join(tmp, "kpid.toml")
    open(path, "w").write(cfg)
    return path


def received(conn, source):
    return conn.execute("SELECT COALESCE(SUM(value),0) FROM counters WHERE name='events_received' "
                        "AND json_extract(labels,'$.source')=?", (source,)).fetchone()[0]


def run(conn, endpoint, source, msgs, n, curve):
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.SNDHWM, 100000)
    if curve:
        s.curve_serverkey, (s.curve_publickey, s.curve_secretkey) = curve
    s.connect(endpoint)
    before = received(conn, source)
    t0 = time.monotonic()
    for m in msgs:
        s.send(m)
    deadline = t0 + 300
    got = 0
    while time.monotonic() < deadline:
        got = received(conn, source) - before
        if got >= n:
            break
        time.sleep(0.02)
    t1 = time.monotonic()
    s.close(linger=0)
    assert got == n, f"kpid counted {got} of {n} events on {source}"
    return n / (t1 - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--debug", action="store_true", help="use .build/debug binaries (default release)")
    a = ap.parse_args()
    bin_dir = os.path.join(ROOT, ".build", "debug" if a.debug else "release")
    with tempfile.TemporaryDirectory() as tmp:
        keys = os.path.join(tmp, "keys")
        subprocess.run([os.path.join(bin_dir, "kpictl"), "keygen", "server", "--dir", keys], check=True,
                       stdout=subprocess.DEVNULL)
        os.makedirs(os.path.join(keys, "clients"))
        public, secret = zmq.curve_keypair()
        open(os.path.join(keys, "clients", "bench.key"), "wb").write(public + b"\n")
        server_public = open(os.path.join(keys, "server.key"), "rb").read().strip()
        ports = [bench_e2e.free_port() for _ in range(3)]
        plain_ep, secure_ep = f"tcp://127.0.0.1:{ports[0]}", f"tcp://127.0.0.1:{ports[1]}"
        path = write_config(tmp, plain_ep, secure_ep, ports[2])
        db = os.path.join(tmp, "bench.db")
        p, _, _ = bench_e2e.start_kpid(bin_dir, path, db, cwd=tmp)
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        results = []
        try:
            # Warm-up (not reported): first windows, label sets, SQLite pages, parser buffers.
            run(conn, plain_ep, "plain", bench_e2e.make_messages(a.events // 4, 100), a.events // 4, None)
            for batch in (100, 10, 1):
                msgs = bench_e2e.make_messages(a.events, batch)
                for curve in (False, True):
                    rate = run(conn, secure_ep if curve else plain_ep, "secure" if curve else "plain", msgs, a.events,
                               (server_public, (public, secret)) if curve else None)
                    results.append({"curve": curve, "batch": batch, "events_per_s": round(rate),
                                    "messages_per_s": round(rate / batch)})
        finally:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=15)
    base = next(r["events_per_s"] for r in results if not r["curve"] and r["batch"] == 100)
    print(f"{'CURVE':<6} {'batch':>5} {'events/s':>10} {'messages/s':>11} {'ratio':>6}")
    for r in sorted(results, key=lambda r: (r["curve"], -r["batch"])):
        r["ratio_to_plain_batch_100"] = round(r["events_per_s"] / base, 3)
        print(f"{'on' if r['curve'] else 'off':<6} {r['batch']:>5} {r['events_per_s']:>10} {r['messages_per_s']:>11} "
              f"{r['ratio_to_plain_batch_100']:>6}")
    print(json.dumps({"events": a.events, "runs": results}))


if __name__ == "__main__":
    main()
