"""conf/production/kpid.toml, the production example, as shipped: every endpoint CURVE-protected,
publishers limited to their event types. With keys generated as its header says (kpictl keygen for
the server, pyzmq's own CURVE for the publishers), it passes check-config, the real kpid starts on
it, a listed publisher's events count, a publisher outside its types is rejected, and a client
without a listed key is refused at the handshake on both endpoints."""
from __future__ import annotations

import re
import time

import zmq

from kpid_harness import REPO, free_port, run_kpictl
from test_curve import event, make_keys

PRODUCTION = REPO / "conf" / "production" / "kpid.toml"


def test_production_example_runs_with_curve_on_every_endpoint(kpid_factory, kpictl_bin):
    text = PRODUCTION.read_text(encoding="utf-8")
    assert text.count("curve_secret_key") == text.count("[[sources]]") == 2, "CURVE on every source"
    web_port, api_port = free_port(), free_port()
    text = text.replace('bind = ["tcp://0.0.0.0:5555"]', f'bind = ["tcp://127.0.0.1:{web_port}"]')
    text = text.replace('bind = ["tcp://0.0.0.0:5556"]', f'bind = ["tcp://127.0.0.1:{api_port}"]')
    text = text.replace('listen = "127.0.0.1:9465"', 'listen = "127.0.0.1:0"')
    text = text.replace('bot_patterns = "bots"', f'bot_patterns = "{REPO / "conf" / "bots"}"')
    assert str(api_port) in text and str(web_port) in text

    k = kpid_factory(text, start=False)
    pairs = make_keys(kpictl_bin, k.workdir, ["web", "api", "scraper"])
    check = run_kpictl(kpictl_bin, "check-config", str(k.config_path))
    assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
    k.start()
    server_key = (k.workdir / "keys" / "server.key").read_bytes().strip()

    ctx = zmq.Context()
    sockets = []
    try:
        def connect(kind, port, pair):
            s = ctx.socket(kind)
            s.setsockopt(zmq.LINGER, 0)
            sockets.append(s)
            if pair is not None:
                s.curve_serverkey = server_key
                s.curve_publickey, s.curve_secretkey = pair
            s.connect(f"tcp://127.0.0.1:{port}")
            return s

        scraper = connect(zmq.PUSH, api_port, pairs["scraper"])
        scraper.send(b"\n".join([event("scrape.job", retailer="ayoub", status="ok"),
                                 event("click", visitor="v1", listing="l1", retailer="ayoub"),  # not its type
                                 event("scrape.job", retailer="ayoub", status="failed")]))
        api = connect(zmq.PUSH, api_port, pairs["api"])
        api.send(event("http.request", route="/api/search", status=503))
        stranger = connect(zmq.PUSH, api_port, zmq.curve_keypair())
        stranger.send(event("http.request", route="/x", status=200))
        plain = connect(zmq.PUB, web_port, None)
        for _ in range(5):
            plain.send(event("click", visitor="v2", listing="l2", retailer="ayoub"))
            time.sleep(0.05)

        k.wait_until(lambda: k.counter_sum("events_received") >= 3 and k.counter_sum("rejects") >= 1, 15,
                     "the listed publishers' events and the forbidden one")
        k.wait_until(lambda: k.counter_sum("curve_refused", source="api", reason="unknown_key") >= 1
                     and k.counter_sum("curve_refused", source="web") >= 1, 15, "both refusals")
    finally:
        for s in sockets:
            s.close()
        ctx.term()
    k.stop()

    assert k.counter("rejects", source="api", reason="forbidden_type") == 1
    rows = k.aggregate_rows()
    jobs = {json_labels: v[1] for (m, p, w, json_labels), v in rows.items() if m == "scrape_jobs" and p == "day"}
    assert jobs == {'{"retailer":"ayoub","status":"failed"}': 1.0, '{"retailer":"ayoub","status":"ok"}': 1.0}
    assert sum(v[1] for (m, p, _, _), v in rows.items() if m == "http_5xx") == 1.0
    assert not any(m in ("wqoc", "qualified_clicks") for (m, _, _, _) in rows), "no click got in"
    assert re.search(r"publisher scraper may not send type click",
                     " ".join(r["detail"] or "" for r in k.rejects_table())), k.rejects_table()
