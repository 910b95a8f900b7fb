"""The event journal with the real kpid: group commits and the checkpoint position, replay after
SIGKILL, the backlog limit, and repeated SIGKILLs under steady PUSH load."""
from __future__ import annotations

import json
import random
import sqlite3
import threading
import time

import pytest
import zmq

from kpid_harness import push_messages, toml_config
from test_status import get, sample

MINUTE_MS = 60_000


def journal_config(port: int, flush_interval: str, commit_interval: str = "100ms", journal: bool = True,
                   max_backlog_bytes: int | None = None, windows: list[str] | None = None) -> str:
    text = toml_config(
        kpid={"time_zone": "UTC", "allowed_lateness": "1h", "flush_interval": flush_interval, "max_future": "10m"},
        sources=[{"name": "shop", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"], "journal": journal}],
        metrics=[{"name": "orders", "events": ["order"], "aggregate": "count", "group_by": ["shop"],
                  "windows": windows or ["day"]}],
    )
    text += f'\n[journal]\ncommit_interval = "{commit_interval}"\n'
    if max_backlog_bytes is not None:
        text += f"max_backlog_bytes = {max_backlog_bytes}\n"
    return text


def push(port: int, messages: list[bytes]) -> None:
    push_messages(f"tcp://127.0.0.1:{port}", messages)


def ndjson(events: list[dict], batch: int) -> list[bytes]:
    return [b"\n".join(json.dumps(e).encode() for e in events[i:i + batch]) for i in range(0, len(events), batch)]


def journal_rows(kpid) -> int:
    return kpid._query("SELECT COUNT(*) AS n FROM journal")[0]["n"]


def checkpoint(kpid) -> int:
    rows = kpid._query("SELECT position FROM journal_checkpoint")
    return rows[0]["position"] if rows else 0


def counts(kpid) -> dict[str, float]:
    """shop -> value of its orders rows, summed over windows."""
    out: dict[str, float] = {}
    for (metric, _, _, labels), (_, value, _, _) in kpid.aggregate_rows().items():
        if metric == "orders":
            shop = json.loads(labels)["shop"]
            out[shop] = out.get(shop, 0) + value
    return out


def journaled_orders(kpid_factory, free_ports, flush_interval: str, count: int, shops: int, batch: int):
    """A kpid journaling one PULL source, and `count` orders stamped now, spread over `shops`
    shops, pushed to it in NDJSON messages of `batch`; returns (kpid, events, messages)."""
    port, = free_ports(1)
    kpid = kpid_factory(journal_config(port, flush_interval=flush_interval))
    now = int(time.time() * 1000)
    events = [{"type": "order", "ts": now, "shop": f"s{i % shops}"} for i in range(count)]
    messages = ndjson(events, batch)
    push(port, messages)
    return kpid, events, messages


def test_messages_are_committed_to_the_journal_and_the_checkpoint_covers_them(kpid_factory, free_ports):
    kpid, events, messages = journaled_orders(kpid_factory, free_ports, "200ms", count=500, shops=3, batch=10)
    kpid.wait_until(lambda: kpid.counter_sum("events_received") == 500, timeout=20, what="all events")
    kpid.wait_until(lambda: checkpoint(kpid) == 50, timeout=10, what="the checkpoint at the 50th message")
    assert journal_rows(kpid) == 50, "one row per message, none pruned inside the retention"
    rows = kpid._query("SELECT seq, source, publisher, received_at, length(frames) AS n, raw_bytes FROM journal ORDER BY seq")
    assert [r["seq"] for r in rows] == list(range(1, 51))
    # [journal] compression = "lz4" (the default): each stored blob is an LZ4 block of the
    # message's encoding (1 byte of frame count, 4 of length, the frame), and smaller than it.
    assert [r["raw_bytes"] for r in rows] == [5 + len(m) for m in messages]
    assert all(r["n"] < r["raw_bytes"] for r in rows)
    assert {r["source"] for r in rows} == {"shop"} and {r["publisher"] for r in rows} == {None}
    assert all(abs(r["received_at"] - events[0]["ts"]) < 60_000 for r in rows)
    status, text = get(kpid.status_url + "/metrics")
    assert status == 200
    assert sample(text, "kpid_journal_commit_duration_seconds_count") >= 1
    assert sample(text, "kpid_journal_lag_messages") == 0
    assert sample(text, "kpid_journal_lag_bytes") == 0
    assert sample(text, "kpid_journal_commit_failures_total") == 0
    kpid.stop()
    assert counts(kpid) == {"s0": 167, "s1": 167, "s2": 166}


def test_replay_after_sigkill_recovers_what_no_flush_wrote_and_stamps_with_the_receive_time(kpid_factory, free_ports):
    """No flush happens before the kills (flush_interval = 1h), so the checkpoint covers nothing
    and the journal alone holds every event: replay must give the exact counts, after one kill
    and after a second kill of the replaying daemon (replayed messages are not journaled
    twice). Events without `ts` are stamped with their receive time, also when replayed in a
    later minute."""
    port, = free_ports(1)
    kpid = kpid_factory(journal_config(port, flush_interval="1h", windows=["minute", "day"]))
    # Send in the first half of a minute, so that the restart below falls in a later one.
    while time.time() % 60 > 30:
        time.sleep(0.5)
    sent_minute = int(time.time() * 1000) // MINUTE_MS * MINUTE_MS
    events = [{"type": "order", "shop": f"s{i % 2}"} for i in range(300)]
    push(port, ndjson(events, 10))
    kpid.wait_until(lambda: journal_rows(kpid) == 30, timeout=20, what="30 messages in the journal")
    assert kpid.counter_sum("events_received") == 0, "a flush happened before the kill; the test proves nothing"
    kpid.kill()
    assert counts(kpid) == {}

    while int(time.time() * 1000) // MINUTE_MS * MINUTE_MS == sent_minute:
        time.sleep(0.5)
    kpid.start()
    assert 'msg="journal replayed"' in kpid.stdout_path.read_text() and "messages=30" in kpid.stdout_path.read_text()
    time.sleep(0.5)
    kpid.kill()  # killed again before any flush: the same 30 messages are replayed, once
    kpid.start()
    kpid.stop()
    assert journal_rows(kpid) == 30, "replay journals nothing again"
    assert checkpoint(kpid) == 30
    assert kpid.counter("events_received", source="shop", type="order") == 300
    minute_rows = {k[2]: v[1] for k, v in kpid.aggregate_rows().items() if k[1] == "minute"}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sent_minute / 1000))
    assert minute_rows == {stamp: 150}, "stamped in the minute they were received, not the minute of the replay"
    assert counts(kpid) == {"s0": 300, "s1": 300}  # minute + day rows
    # A third start replays nothing: the checkpoint covers the journal.
    kpid.start()
    kpid.stop()
    assert 'msg="journal replayed"' not in kpid.stdout_path.read_text()
    assert kpid.counter("events_received", source="shop", type="order") == 300


def test_a_damaged_journal_row_is_skipped_counted_and_logged_and_the_rest_replays(kpid_factory, free_ports):
    """A compressed row cut short on disk (as a torn write or a bad sector would leave it) must
    not stop the replay or crash kpid: that message alone is lost, counted in
    journal_replay_skipped{source} and logged; every other message is replayed."""
    kpid, events, messages = journaled_orders(kpid_factory, free_ports, "1h", count=200, shops=2, batch=20)
    kpid.wait_until(lambda: journal_rows(kpid) == 10, timeout=20, what="10 messages in the journal")
    kpid.kill()
    conn = sqlite3.connect(kpid.db_path)
    raw, = conn.execute("SELECT raw_bytes FROM journal WHERE seq = 4").fetchone()
    assert raw == 5 + len(messages[3]), "the row is an LZ4 block of the message"
    conn.execute("UPDATE journal SET frames = substr(frames, 1, length(frames) - 9) WHERE seq = 4")
    conn.commit()
    conn.close()
    kpid.start()
    kpid.stop()
    log = kpid.stdout_path.read_text()
    assert "journal rows could not be read back and were skipped" in log and "damaged=1" in log
    assert kpid.counter("journal_replay_skipped", source="shop") == 1
    assert kpid.counter("events_received", source="shop", type="order") == 180
    expected = {"s0": 0, "s1": 0}
    for e in events[:60] + events[80:]:
        expected[e["shop"]] += 1
    assert counts(kpid) == expected


def test_sigterm_commits_the_journal_before_the_last_flush_and_its_checkpoint(kpid_factory, free_ports):
    """Neither a periodic commit nor a periodic flush can happen during the test (both 1h): the
    journal rows and the checkpoint come from the shutdown alone."""
    port, = free_ports(1)
    kpid = kpid_factory(journal_config(port, flush_interval="1h", commit_interval="1h"))
    now = int(time.time() * 1000)
    push(port, ndjson([{"type": "order", "ts": now, "shop": "s1"}] * 200, 20))
    time.sleep(1.5)
    assert journal_rows(kpid) == 0, "a commit happened before SIGTERM; the test proves nothing"
    kpid.stop()
    assert journal_rows(kpid) == 10 and checkpoint(kpid) == 10
    assert counts(kpid) == {"s1": 200}
    kpid.start()  # nothing to replay: the checkpoint covers the journal
    kpid.stop()
    assert 'msg="journal replayed"' not in kpid.stdout_path.read_text()
    assert counts(kpid) == {"s1": 200}


def test_without_the_journal_a_sigkill_loses_everything_since_the_last_flush(kpid_factory, free_ports):
    port, = free_ports(1)
    kpid = kpid_factory(journal_config(port, flush_interval="1h", journal=False))
    now = int(time.time() * 1000)
    push(port, ndjson([{"type": "order", "ts": now, "shop": "s0"}] * 100, 10))
    time.sleep(1.0)
    kpid.kill()
    kpid.start()
    kpid.stop()
    assert journal_rows(kpid) == 0
    assert counts(kpid) == {} and kpid.counter_sum("events_received") == 0


def test_over_the_backlog_limit_messages_are_processed_but_not_journaled_and_counted(kpid_factory, free_ports):
    port, = free_ports(1)
    kpid = kpid_factory(journal_config(port, flush_interval="200ms", max_backlog_bytes=1))
    now = int(time.time() * 1000)
    push(port, ndjson([{"type": "order", "ts": now, "shop": "s0"}] * 100, 10))
    kpid.wait_until(lambda: kpid.counter("journal_backlog_dropped", source="shop") == 10, timeout=20,
                    what="10 messages over the backlog")
    kpid.stop()
    assert kpid.counter_sum("events_received") == 100
    assert journal_rows(kpid) == 0
    assert counts(kpid) == {"s0": 100}


class SteadyPusher(threading.Thread):
    """PUSHes NDJSON messages of `batch` order events at about `rate` messages per second,
    stamping each with its send time; kpid's restarts are invisible to it (PUSH queues while
    the peer is away and reconnects)."""

    def __init__(self, port: int, batch: int, rate: float, ts: int):
        super().__init__(daemon=True)
        self.port, self.batch, self.rate, self.ts = port, batch, rate, ts
        self.sent: list[tuple[float, int]] = []  # (monotonic send time, events)
        self.stop_flag = threading.Event()

    def run(self) -> None:
        ctx = zmq.Context()
        s = ctx.socket(zmq.PUSH)
        s.setsockopt(zmq.LINGER, 10_000)
        s.setsockopt(zmq.SNDHWM, 100_000)
        s.connect(f"tcp://127.0.0.1:{self.port}")
        line = json.dumps({"type": "order", "ts": self.ts, "shop": "s0"}).encode()
        message = b"\n".join([line] * self.batch)
        rng = random.Random(3)
        while not self.stop_flag.is_set():
            s.send(message)
            self.sent.append((time.monotonic(), self.batch))
            time.sleep(rng.uniform(0.5, 1.5) / self.rate)
        s.close()
        ctx.term()


COMMIT_MS = 100


def ten_sigkills_under_steady_push_load(kpid, port: int) -> tuple[int, int, int]:
    """SIGKILLs and restarts `kpid` 10 times, 1.5–3 s apart, while a SteadyPusher sends about
    2,000 events/s to `port`; then stops the pusher and kpid (SIGTERM). Returns (events
    published, events published in the last commit interval before a kill with a margin for the
    writer's queue delay and loopback delivery on a shared machine, the margin in ms)."""
    pusher = SteadyPusher(port, batch=10, rate=200, ts=int(time.time() * 1000) - 60_000)
    pusher.start()
    try:
        kills = kpid.sigkill_restarts(10, between=(1.5, 3.0), seed=11)
    finally:
        pusher.stop_flag.set()
        pusher.join(timeout=30)
    time.sleep(1.0)
    kpid.stop()
    margin_ms = 250
    window = (COMMIT_MS + margin_ms) / 1000
    at_risk = sum(n for t, n in pusher.sent for k in kills if k - window < t <= k)
    return sum(n for _, n in pusher.sent), at_risk, margin_ms


def assert_bounded_loss(what: str, counted: float, published: int, at_risk: int, margin_ms: int) -> None:
    assert counted <= published, f"{what}: {counted} of {published} published: a double count"
    assert published - counted <= at_risk, (
        f"{what}: lost {published - counted} events; at most {at_risk} were published in the last "
        f"{COMMIT_MS} + {margin_ms} ms before the 10 kills")


def test_ten_sigkills_under_steady_push_load_lose_at_most_the_last_commit_intervals(kpid_factory, free_ports):
    """One run of 10 SIGKILLs, two guarantees.

    The journal's own: `events_received` is written with the checkpoint position and replay
    counts the rest again, so it is never above what was published and short of it by at most
    what was published in the last commit interval before each kill.

    With the state checkpoint (open windows restored at start): no count in `aggregates`
    exceeds what was published, and the shortfall has the same bound. Without the checkpoint a
    restart would lose the open windows and their next flush would overwrite the rows."""
    port, = free_ports(1)
    kpid = kpid_factory(journal_config(port, flush_interval="300ms", commit_interval=f"{COMMIT_MS}ms"))
    published, at_risk, margin = ten_sigkills_under_steady_push_load(kpid, port)
    assert_bounded_loss("events_received", kpid.counter_sum("events_received"), published, at_risk, margin)
    assert_bounded_loss("aggregates", counts(kpid).get("s0", 0), published, at_risk, margin)
