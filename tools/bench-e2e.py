#!/usr/bin/env python3
"""End-to-end throughput of kpid over ZeroMQ on tcp loopback, as a ratio of a null subscriber.

Figure (b) of the foundation issue. One pyzmq PUSH publisher sends N pre-built events in NDJSON
batches to (1) `kpictl sink`, which receives and counts them and does nothing else, then (2) the
real kpid with the shipped metrics, over the same loopback, in the same run. Each rate is N
divided by the time from the first send to the receiver having all N (for kpid: the
`events_received` counters in SQLite, polled every 5 ms with flush_interval = 50ms).
PUSH/PULL never drops, so kpid must account for every event: the script fails otherwise.

The machine is shared, so one pair of runs is noisy: the pair (sink, then kpid) is repeated
--repeat times (default 3), and the figures reported are the medians of each rate and of the
per-pair ratios; every pair is listed under "runs".

    python3 tools/bench-e2e.py [--events 2000000] [--batch 100] [--repeat 3] [--release]

The shipped config journals both sources (`journal = true`, commit every 100 ms). With
--journal-compare the null subscriber is not run: each repeat runs kpid with the journal off, then
on, over the same messages, and reports the on/off ratio (issue 6's target: at least 0.6). The
journal-on run must have committed one journal row per message and dropped none for the backlog:
--journal-backlog (default 1 GiB) replaces the shipped 64 MiB, which a 2M-event burst (~500 MB of
NDJSON) outruns, so that the rate measured is the rate with every message journaled.

With --journal-replay kpid journals every message with no flush, is SIGKILLed and restarted; the
replay it logs (messages, seconds) and the time to `kpid ready` are reported.

    python3 tools/bench-e2e.py --journal-replay [--events 2000000] [--release]

    python3 tools/bench-e2e.py --journal-compare [--events 2000000] [--repeat 3] [--release]

--compression lz4|none sets kpid's [journal] compression (shipped: lz4). Every kpid run's CPU
seconds (all threads, first send to last event counted) are listed as kpid_cpu_seconds.
"""
import argparse, json, os, re, signal, socket, sqlite3, statistics, subprocess, sys, tempfile, threading, time

import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_messages(n, batch):
    base = 1763856000000
    line = ('{"type":"http.request","ts":%d,"route":"/api/r%d","status":%d,"tenant":"t%d",'
            '"duration_ms":%d.5,"method":"GET","host":"api-3.internal","bytes_out":51234,'
            '"trace_id":"5f1c2a9e0b7d4c3a"}')
    click = ('{"type":"click","ts":%d,"retailer":"r%d","visitor":"v%d","listing":"l%d",'
             '"user_agent":"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0"}')
    msgs, cur = [], []
    for i in range(n):
        ts = base + i // 10
        cur.append(line % (ts, i % 7, 503 if i % 50 == 0 else 200, i % 13, i % 900) if i % 2
                   else click % (ts, i % 5, i % 40000, i % 3000))
        if len(cur) == batch:
            msgs.append("\n".join(cur).encode())
            cur = []
    if cur:
        msgs.append("\n".join(cur).encode())
    return msgs


PREQUEUE = False


def publish(endpoint, msgs, receiver=None):
    """Sends every message; returns the socket and the time the clock starts: the first send, or
    with --prequeue the moment `receiver` (a process stopped with SIGSTOP while everything was
    queued on the publisher's side) is continued."""
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.SNDHWM, 100000)
    s.connect(endpoint)
    if PREQUEUE:
        time.sleep(0.2)  # connected
        receiver.send_signal(signal.SIGSTOP)
    t0 = time.monotonic()
    for m in msgs:
        s.send(m)
    if PREQUEUE:
        time.sleep(0.5)  # the publisher's I/O thread has filled the socket buffers and idles
        t0 = time.monotonic()
        receiver.send_signal(signal.SIGCONT)
    return s, t0


def run_sink(bin_dir, msgs, n):
    port = free_port()
    ep = f"tcp://127.0.0.1:{port}"
    p = subprocess.Popen([os.path.join(bin_dir, "kpictl"), "sink", "--endpoint", ep, "--events", str(n),
                          "--receive-hwm", str(shipped_receive_hwm())],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    s, t0 = publish(ep, msgs, p)
    out = p.stdout.readline()
    t1 = time.monotonic()
    p.wait(timeout=60)
    s.close(linger=0)
    got = json.loads(out)["events"]
    assert got == n, f"sink got {got} of {n}"
    return n / (t1 - t0)


RECEIVE_HWM = None


def shipped_receive_hwm():
    """receive_hwm of the shipped source the benchmark publishes to (api), or --receive-hwm: the
    sink uses it too."""
    if RECEIVE_HWM is not None:
        return RECEIVE_HWM
    cfg = open(os.path.join(ROOT, "conf", "kpid.toml")).read()
    api = cfg[cfg.index('bind = ["tcp://127.0.0.1:5556"]'):]
    return int(re.search(r"(?m)^receive_hwm = (\d+)", api).group(1))


DECODE_AHEAD = None
COMPRESSION = None
# kpid's CPU seconds (user + system, all threads) from the first send to the last event counted,
# per kpid run, in run order.
KPID_CPU = []


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_config(tmp, ep, without_qualification=False, journal=None, journal_backlog=None, flush_interval="50ms"):
    """The shipped config on endpoint `ep`, written into `tmp`; returns (config path, database path).
    `journal` True/False turns every source's journal on/off (None: as shipped); `journal_backlog`
    replaces the shipped [journal] max_backlog_bytes."""
    cfg = open(os.path.join(ROOT, "conf", "kpid.toml")).read()
    cfg = cfg.replace('flush_interval = "1s"', f'flush_interval = "{flush_interval}"')
    if DECODE_AHEAD is not None:
        cfg = cfg.replace("[kpid]\n", "[kpid]\ndecode_ahead = %s\n" % ("true" if DECODE_AHEAD else "false"), 1)
    if COMPRESSION is not None:
        cfg = cfg.replace("[journal]\n", '[journal]\ncompression = "%s"\n' % COMPRESSION, 1)
    if RECEIVE_HWM is not None:
        # The api source's (the one the benchmark publishes to, see shipped_receive_hwm).
        head, api = cfg.split('bind = ["tcp://127.0.0.1:5556"]', 1)
        cfg = head + 'bind = ["tcp://127.0.0.1:5556"]' + re.sub(r"(?m)^receive_hwm = \d+", "receive_hwm = %d" % RECEIVE_HWM, api, count=1)
    # Any free port for the status listener: a run never waits on another's leftover process.
    cfg = cfg.replace('listen = "127.0.0.1:9465"', 'listen = "127.0.0.1:0"')
    cfg = cfg.replace('allowed_lateness = "1m"', 'allowed_lateness = "30d"')
    cfg = cfg.replace('bind = ["tcp://127.0.0.1:5555"]', f'bind = ["tcp://127.0.0.1:{free_port()}"]')
    cfg = cfg.replace('bind = ["tcp://127.0.0.1:5556"]', f'bind = ["{ep}"]')
    if without_qualification:
        # The foundation's metrics only: no [[pipelines]] table and no metric over a pipeline.
        blocks = re.split(r"\n(?=\[\[)", cfg)
        cfg = "\n".join(b for b in blocks if not b.startswith("[[pipelines]]") and "\npipeline = " not in b)
    if journal is not None:
        cfg = re.sub(r"(?m)^journal = (true|false)", "journal = %s" % ("true" if journal else "false"), cfg)
    if journal_backlog is not None:
        cfg = re.sub(r"(?m)^max_backlog_bytes = \d+", "max_backlog_bytes = %d" % journal_backlog, cfg)
    # Relative paths in the config are relative to its file: point them back at conf/.
    cfg = cfg.replace('bot_patterns = "bots"', 'bot_patterns = "%s"' % os.path.join(ROOT, "conf", "bots"))
    path = os.path.join(tmp, "kpid.toml")
    open(path, "w").write(cfg)
    return path, os.path.join(tmp, "bench.db")


def start_kpid(bin_dir, path, db, cwd=None):
    """Starts kpid and waits for `kpid ready`; returns (process, log lines so far, seconds to ready).
    A thread keeps reading kpid's output (a full pipe would block its logging, and so its stop)."""
    t0 = time.monotonic()
    p = subprocess.Popen([os.path.join(bin_dir, "kpid"), "--config", path, "--db", db], cwd=cwd,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    for line in p.stdout:
        lines.append(line)
        if "kpid ready" in line:
            threading.Thread(target=lambda: [None for _ in p.stdout], daemon=True).start()
            return p, lines, time.monotonic() - t0
    sys.exit(f"kpid did not start (exit {p.wait()})\n{''.join(lines)}")


def run_kpid(bin_dir, msgs, n, tmp, without_qualification=False, journal=None, journal_backlog=None):
    """kpid's rate (see write_config for the arguments)."""
    ep = f"tcp://127.0.0.1:{free_port()}"
    path, db = write_config(tmp, ep, without_qualification, journal, journal_backlog)
    p, _, _ = start_kpid(bin_dir, path, db)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    cpu0 = cpu_seconds(p.pid)
    s, t0 = publish(ep, msgs, p)
    deadline = time.monotonic() + 300
    got = 0
    while time.monotonic() < deadline:
        got = conn.execute("SELECT COALESCE(SUM(value),0) FROM counters WHERE name='events_received'").fetchone()[0]
        if got >= n:
            break
        time.sleep(0.005)
    t1 = time.monotonic()
    KPID_CPU.append(round(cpu_seconds(p.pid) - cpu0, 2))
    s.close(linger=0)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=15)
    assert got == n, f"kpid counted {got} of {n} events (PUSH/PULL must lose none)"
    if journal is None:
        dropped = conn.execute("SELECT COALESCE(SUM(value),0) FROM counters WHERE name='journal_backlog_dropped'").fetchone()[0]
        if dropped:
            print(f"note: {dropped} messages were not journaled (over the shipped max_backlog_bytes)", file=sys.stderr)
    if journal:
        rows = conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0]
        dropped = conn.execute("SELECT COALESCE(SUM(value),0) FROM counters WHERE name='journal_backlog_dropped'").fetchone()[0]
        assert rows == len(msgs) and dropped == 0, f"journal: {rows} rows of {len(msgs)} messages, {dropped} over the backlog"
    conn.close()
    return n / (t1 - t0)


def run_replay(bin_dir, msgs, n, tmp, journal_backlog):
    """Journals every message with no flush (flush_interval 1h), SIGKILLs kpid, restarts it and
    reports the replay that kpid logs and the time to `kpid ready`; every event must be counted."""
    ep = f"tcp://127.0.0.1:{free_port()}"
    path, db = write_config(tmp, ep, journal=True, journal_backlog=journal_backlog, flush_interval="1h")
    p, _, _ = start_kpid(bin_dir, path, db)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    s, _ = publish(ep, msgs)
    while conn.execute("SELECT COUNT(*) FROM journal").fetchone()[0] < len(msgs):
        time.sleep(0.05)
    p.kill()
    p.wait()
    s.close(linger=0)
    p, lines, ready = start_kpid(bin_dir, path, db)
    replayed = next(line for line in lines if 'msg="journal replayed"' in line)
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    got = conn.execute("SELECT COALESCE(SUM(value),0) FROM counters WHERE name='events_received'").fetchone()[0]
    conn.close()
    assert got == n, f"after the replay kpid counted {got} of {n} events"
    fields = dict(re.findall(r"(\w+)=(\S+)", replayed))
    return {"events": n, "messages": int(fields["messages"]), "replay_seconds": float(fields["seconds"]),
            "replay_events_per_s": round(n / float(fields["seconds"])), "seconds_to_ready": round(ready, 3)}


def in_tmp(run):
    with tempfile.TemporaryDirectory() as tmp:
        return run(tmp)


def paired(a, baseline, subject, names):
    """Runs baseline() then subject() --repeat times; the medians of both rates and of the
    per-pair ratios (subject / baseline), and every pair."""
    runs = []
    for _ in range(max(1, a.repeat)):
        b, s = baseline(), subject()
        runs.append({names[0]: round(b), names[1]: round(s), "ratio": round(s / b, 3)})
    return {"events": a.events, "batch": a.batch, "repeat": len(runs),
            **{n: round(statistics.median(r[n] for r in runs)) for n in names},
            "ratio": round(statistics.median(r["ratio"] for r in runs), 3), "runs": runs}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3, help="pairs of runs (sink, kpid); medians are reported")
    ap.add_argument("--release", action="store_true", help="use .build/release binaries")
    ap.add_argument("--without-qualification", action="store_true",
                    help="drop the shipped config's qualification pipeline and the metrics over it")
    ap.add_argument("--journal", choices=["shipped", "on", "off"], default="shipped",
                    help="kpid's journal in the null-subscriber comparison (default: as shipped, on)")
    ap.add_argument("--prequeue", action="store_true",
                    help="queue every message on the publisher's side while the receiver is stopped (SIGSTOP), "
                         "then time the receiver alone from SIGCONT: its drain rate without the publisher's CPU")
    ap.add_argument("--decode-ahead", choices=["auto", "on", "off"], default="auto",
                    help="kpid's [kpid] decode_ahead (default: as shipped, automatic)")
    ap.add_argument("--receive-hwm", type=int, default=None,
                    help="ZMQ_RCVHWM of kpid's api source and of the sink (default: the shipped 1000)")
    ap.add_argument("--journal-compare", action="store_true",
                    help="kpid with the journal off, then on, per repeat; report the on/off ratio")
    ap.add_argument("--journal-replay", action="store_true",
                    help="journal every message, SIGKILL kpid before any flush, restart: the replay's speed")
    ap.add_argument("--compression", choices=["shipped", "lz4", "none"], default="shipped",
                    help="kpid's [journal] compression (default: as shipped, lz4)")
    ap.add_argument("--journal-backlog", type=int, default=1 << 30,
                    help="[journal] max_backlog_bytes of the journal-on runs (default 1 GiB)")
    a = ap.parse_args()
    global PREQUEUE, DECODE_AHEAD, RECEIVE_HWM, COMPRESSION
    COMPRESSION = None if a.compression == "shipped" else a.compression
    RECEIVE_HWM = a.receive_hwm
    PREQUEUE = a.prequeue
    DECODE_AHEAD = None if a.decode_ahead == "auto" else a.decode_ahead == "on"
    bin_dir = os.path.join(ROOT, ".build", "release" if a.release else "debug")
    msgs = make_messages(a.events, a.batch)
    if a.journal_replay:
        result = in_tmp(lambda t: run_replay(bin_dir, msgs, a.events, t, a.journal_backlog))
    elif a.journal_compare:
        result = paired(a, lambda: in_tmp(lambda t: run_kpid(bin_dir, msgs, a.events, t, a.without_qualification, False)),
                        lambda: in_tmp(lambda t: run_kpid(bin_dir, msgs, a.events, t, a.without_qualification, True,
                                                          a.journal_backlog)),
                        ("journal_off_events_per_s", "journal_on_events_per_s"))
    else:
        result = paired(a, lambda: run_sink(bin_dir, msgs, a.events),
                        lambda: in_tmp(lambda t: run_kpid(bin_dir, msgs, a.events, t, a.without_qualification,
                                                          None if a.journal == "shipped" else a.journal == "on",
                                                          a.journal_backlog if a.journal == "on" else None)),
                        ("null_subscriber_events_per_s", "kpid_events_per_s"))
    if KPID_CPU:
        # In --journal-compare, runs alternate journal off, on.
        result["kpid_cpu_seconds"] = KPID_CPU
    print(json.dumps(result))


if __name__ == "__main__":
    main()
