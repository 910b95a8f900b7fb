"""CURVE on a source: only listed client keys get in (refusals are counted per endpoint), each key
is a named publisher, and [[publishers]] permissions reject events outside a publisher's types
and tenants before they touch a metric. Clients are pyzmq (its own CURVE) and kpictl."""
from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import time
from pathlib import Path

import zmq

from kpid_harness import run_kpictl, toml_config

METRICS = [
    {"name": "clicks", "events": ["click"], "aggregate": "count", "windows": ["day"], "group_by": ["tenant"]},
    {"name": "pages", "events": ["scrape.page"], "aggregate": "count", "windows": ["day"], "group_by": ["tenant"]},
]


def make_keys(kpictl_bin: str, root: Path, clients: list[str]) -> dict[str, tuple[bytes, bytes]]:
    """Server pair with kpictl keygen; client pairs with pyzmq, public halves into keys/clients."""
    keys = root / "keys"
    out = run_kpictl(kpictl_bin, "keygen", "server", "--dir", str(keys))
    assert out.returncode == 0, out.stderr.decode()
    assert stat.S_IMODE(os.stat(keys / "server.key_secret").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(keys / "server.key").st_mode) == 0o644
    (keys / "clients").mkdir()
    pairs = {}
    for name in clients:
        public, secret = zmq.curve_keypair()
        (keys / "clients" / f"{name}.key").write_bytes(public + b"\n")
        pairs[name] = (public, secret)
    return pairs


def start_with_keys(kpid_factory, kpictl_bin: str, text: str, clients: list[str]):
    """A kpid on `text` with fresh keys (see make_keys); returns it, the client pairs and the
    server's public key."""
    k = kpid_factory(text, start=False)
    pairs = make_keys(kpictl_bin, k.workdir, clients)
    k.start()
    return k, pairs, (k.workdir / "keys" / "server.key").read_bytes().strip()


def curve_source(port: int) -> dict:
    return {"name": "secure", "kind": "pull", "bind": [f"tcp://127.0.0.1:{port}"],
            "curve_secret_key": "keys/server.key_secret", "curve_public_key": "keys/server.key",
            "curve_clients": "keys/clients"}


def config(port: int, publishers: str = "", kpid_extra: dict | None = None) -> str:
    text = toml_config(kpid={"time_zone": "UTC", "flush_interval": "100ms", **(kpid_extra or {})},
                       sources=[curve_source(port)], metrics=METRICS)
    return text + publishers


def push(ctx: zmq.Context, port: int, server_key: bytes | None, pair: tuple[bytes, bytes] | None) -> zmq.Socket:
    s = ctx.socket(zmq.PUSH)
    s.setsockopt(zmq.LINGER, 0)
    if server_key is not None:
        s.curve_serverkey = server_key
        s.curve_publickey, s.curve_secretkey = pair
    s.connect(f"tcp://127.0.0.1:{port}")
    return s


def send_clicks(k, sock: zmq.Socket, n: int, total: int) -> None:
    """Sends n clicks on `sock` and waits until the secure source has counted `total` clicks."""
    for _ in range(n):
        sock.send(event("click"))
    k.wait_until(lambda: k.counter("events_received", source="secure", type="click") == total, 15, f"{total} clicks")


def event(type_: str, tenant: str | None = "t1", **more) -> bytes:
    e = {"type": type_, "ts": int(time.time() * 1000), **more}
    if tenant is not None:
        e["tenant"] = tenant
    return json.dumps(e).encode()


def test_listed_key_is_counted_and_unknown_or_plain_clients_are_refused_and_counted(kpid_factory, kpictl_bin, free_ports):
    port, = free_ports(1)
    k, pairs, server_key = start_with_keys(kpid_factory, kpictl_bin, config(port), ["scraper"])
    ctx = zmq.Context()
    try:
        good = push(ctx, port, server_key, pairs["scraper"])
        send_clicks(k, good, 5, total=5)

        stranger = push(ctx, port, server_key, zmq.curve_keypair())
        for _ in range(5):
            stranger.send(event("click"))
        k.wait_until(lambda: k.counter_sum("curve_refused", source="secure", reason="unknown_key") >= 1, 15,
                     "the unknown key's refusal")

        plain = push(ctx, port, None, None)
        plain.send(event("click"))
        k.wait_until(lambda: k.counter_sum("curve_refused", source="secure", reason="mechanism_mismatch") >= 1, 15,
                     "the plain-text client's refusal")

        # The refusals name the endpoint they happened on.
        refused = [json.loads(l) for (n, l), v in k.counters().items() if n == "curve_refused" and v]
        assert all(r["endpoint"] == f"tcp://127.0.0.1:{port}" for r in refused), refused

        # kpictl with the client's secret key file gets in too.
        secret_file = k.workdir / "scraper.key_secret"
        secret_file.write_bytes(pairs["scraper"][1] + b"\n")
        secret_file.chmod(0o600)
        out = run_kpictl(kpictl_bin, "publish", "--endpoint", f"tcp://127.0.0.1:{port}",
                         "--curve-server-key", str(k.workdir / "keys" / "server.key"), "--curve-key", str(secret_file),
                         input_bytes=event("click") + b"\n" + event("click") + b"\n")
        assert out.returncode == 0, out.stderr.decode()
        k.wait_until(lambda: k.counter("events_received", source="secure", type="click") == 7, 15, "kpictl's 2 clicks")
        time.sleep(0.5)  # anything the stranger or the plain client queued would have arrived by now
        for s in (good, stranger, plain):
            s.close()
    finally:
        ctx.term()
    k.stop()
    assert k.counter("events_received", source="secure", type="click") == 7
    assert k.counter("messages_received", source="secure") == 7
    rows = k.aggregate_rows()
    assert sum(v[1] for key, v in rows.items() if key[0] == "clicks") == 7


PUBLISHERS = """
[[publishers]]
name = "scraper"
types = ["scrape.*", "listing.*"]
tenants = ["t1"]
"""


def test_publisher_outside_its_types_or_tenants_is_rejected_and_the_next_allowed_event_counts(
        kpid_factory, kpictl_bin, free_ports):
    port, = free_ports(1)
    k, pairs, server_key = start_with_keys(kpid_factory, kpictl_bin, config(port, PUBLISHERS), ["scraper", "web"])
    ctx = zmq.Context()
    try:
        scraper = push(ctx, port, server_key, pairs["scraper"])
        scraper.send(event("click"))                      # forbidden type
        scraper.send(event("scrape.page", tenant="t2"))   # forbidden tenant
        scraper.send(event("scrape.page", tenant=None))   # no tenant while restricted
        scraper.send(event("scrape.page", tenant="t1"))   # allowed
        # "web" has a key but no [[publishers]] entry: denied by default once entries exist.
        web = push(ctx, port, server_key, pairs["web"])
        web.send(event("click"))
        k.wait_until(lambda: k.counter("messages_received", source="secure") == 5, 15, "5 messages")
        scraper.send(event("scrape.page", tenant="t1"))   # still allowed after the rejects
        k.wait_until(lambda: k.counter("events_received", source="secure", type="scrape.page") == 2, 15,
                     "the allowed pages")
        scraper.close()
        web.close()
    finally:
        ctx.term()
    k.stop()
    assert k.counter("rejects", source="secure", reason="forbidden_type") == 1
    assert k.counter("rejects", source="secure", reason="forbidden_tenant") == 2
    assert k.counter("rejects", source="secure", reason="forbidden_publisher") == 1
    assert k.counter("events_received", source="secure", type="click") == 0
    rows = k.aggregate_rows()
    assert not any(key[0] == "clicks" for key in rows), rows
    pages = {key[3]: v[1] for key, v in rows.items() if key[0] == "pages"}
    assert pages == {'{"tenant":"t1"}': 2}, pages
    details = {(r["reason"], r["detail"]) for r in k.rejects_table()}
    assert ("forbidden_type", "publisher scraper may not send type click") in details, details
    assert ("forbidden_tenant", "publisher scraper may not send tenant t2") in details, details
    assert ("forbidden_tenant", "publisher scraper may not send tenant (none)") in details, details
    assert any(r == "forbidden_publisher" and "web" in d for r, d in details), details


def test_secret_key_readable_by_others_stops_kpid_with_exit_78_naming_the_file(kpid_factory, kpictl_bin, free_ports):
    port, = free_ports(1)
    k = kpid_factory(config(port), start=False)
    make_keys(kpictl_bin, k.workdir, ["scraper"])
    secret = k.workdir / "keys" / "server.key_secret"
    secret.chmod(0o644)
    proc = subprocess.run([k.binary, "--config", str(k.config_path), "--db", str(k.db_path)],
                          cwd=k.workdir, capture_output=True, timeout=30)
    assert proc.returncode == 78, proc
    err = proc.stderr.decode()
    assert "sources[0].curve_secret_key" in err and str(secret) in err and "0644" in err, err
    assert not k.db_path.exists()


def test_a_reload_that_changes_curve_settings_keeps_the_running_ones_and_logs_that_they_need_a_restart(
        kpid_factory, kpictl_bin, free_ports):
    port, port2 = free_ports(2)
    k, pairs, server_key = start_with_keys(kpid_factory, kpictl_bin, config(port), ["scraper"])
    # A new client key and a second CURVE source: the ZAP handler read its keys at the start.
    newbie = zmq.curve_keypair()
    (k.workdir / "keys" / "clients" / "newbie.key").write_bytes(newbie[0] + b"\n")
    second = {**curve_source(port2), "name": "secure2"}
    k.config_path.write_text(toml_config(kpid={"time_zone": "UTC", "flush_interval": "100ms"},
                                         sources=[curve_source(port), second], metrics=METRICS), encoding="utf-8")
    k.proc.send_signal(signal.SIGHUP)
    # Nothing else changed: what runs stays as it was.
    k.wait_until(lambda: 'msg="config unchanged; nothing to reload"' in k.stdout_path.read_text(), 20, "the reload")
    log = k.stdout_path.read_text()
    assert 'key=sources[secure].curve' in log and 'key=sources[secure2].curve' in log, log
    ctx = zmq.Context()
    try:
        send_clicks(k, push(ctx, port, server_key, pairs["scraper"]), 3, total=3)
        refused = push(ctx, port, server_key, newbie)
        refused.send(event("click"))
        k.wait_until(lambda: k.counter_sum("curve_refused", source="secure", reason="unknown_key") >= 1, 15,
                     "the new key's refusal")
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port2)) != 0, "a CURVE source was opened by a reload"
    finally:
        ctx.destroy(linger=0)
    assert k.counter("events_received", source="secure", type="click") == 3
    assert k.stop() == 0
