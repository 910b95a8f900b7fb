"""Alerts end to end: real kpid, a real HTTP server process (webhook_recorder.py), a real SMTP
server (aiosmtpd) receiving mail through msmtp as the sendmail program."""
from __future__ import annotations

import hashlib
import hmac
import json
import mailbox
import os
import shutil
import signal
import subprocess
import sys
import time
from email import message_from_bytes
from email.header import decode_header, make_header
from pathlib import Path

import pytest
import zmq

from kpid_harness import KPICTL_BIN, toml_config
from test_status import get

HERE = Path(__file__).resolve().parent
SECRET = "e2e-webhook-secret"
AM_V4_KEYS = {"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels", "commonLabels",
              "commonAnnotations", "externalURL", "alerts"}
AM_V4_ALERT_KEYS = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL", "fingerprint"}


class Webhook:
    """webhook_recorder.py in a subprocess; requests() reads what it recorded."""

    def __init__(self, port: int, log: Path):
        self.port, self.log, self.proc = port, log, None

    def start(self, fail_first: int = 0) -> "Webhook":
        self.proc = subprocess.Popen([sys.executable, str(HERE / "webhook_recorder.py"), str(self.port), str(self.log),
                                      "--fail-first", str(fail_first)])
        deadline = time.monotonic() + 10
        import socket
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            time.sleep(0.05)
        raise AssertionError("webhook recorder did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)

    def requests(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


@pytest.fixture
def webhook(free_ports, tmp_path):
    hooks: list[Webhook] = []

    def make() -> Webhook:
        h = Webhook(free_ports(1)[0], tmp_path / f"webhook-{len(hooks)}.jsonl")
        hooks.append(h)
        return h
    yield make
    for h in hooks:
        h.stop()


@pytest.fixture
def smtp_server(free_ports, tmp_path):
    if shutil.which("msmtp") is None:
        pytest.fail("msmtp is not installed (tools/install-deps.sh --test)")
    port = free_ports(1)[0]
    maildir = tmp_path / "maildir"
    proc = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}",
                             "-c", "aiosmtpd.handlers.Mailbox", str(maildir)])
    time.sleep(0.8)
    assert proc.poll() is None, "aiosmtpd did not start"
    yield port, maildir
    proc.terminate()
    proc.wait(5)


def wait_for(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = predicate()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


ALERTING = {"group_by": '["alertname", "tenant"]', "group_wait": '"0s"', "group_interval": '"1s"',
            "repeat_interval": '"1h"', "retry_initial": '"200ms"', "retry_max": '"1s"', "external_url": '"http://kpid.test"'}


def config(zmq_port: int, receivers: str, extra_alerting: str = "", rules: str | None = None,
           alerting: dict[str, str] | None = None, flush_interval: str = "200ms") -> str:
    """A kpid.toml with one count metric (errors per tenant and minute), [alerting] from ALERTING
    with `alerting` (TOML values as text) overriding it, the receivers and the rules."""
    base = toml_config(
        {"flush_interval": flush_interval, "allowed_lateness": "1m"},
        [{"name": "in", "kind": "pull", "bind": [f"tcp://127.0.0.1:{zmq_port}"]}],
        [{"name": "errors", "events": ["req"], "aggregate": "count", "group_by": ["tenant"], "windows": ["minute"]}])
    rules = rules or """
[[alerts]]
name = "tenant_errors"
metric = "errors"
condition = "value >= 3"
severity = "critical"
annotations = { summary = "{{ labels.tenant }} had {{ value }} errors", value = "{{ value }} errors" }
"""
    settings = "\n".join(f"{k} = {v}" for k, v in {**ALERTING, **(alerting or {})}.items())
    return base + f"""
[alerting]
{settings}
{extra_alerting}
{receivers}
{rules}
"""


def hook_receiver(name: str, port: int, path: str = "/hook", secret: bool = True) -> str:
    s = f"""
[[receivers]]
name = "{name}"
kind = "webhook"
url = "http://127.0.0.1:{port}{path}"
timeout = "2s"
"""
    return s + ('hmac_secret_file = "webhook.secret"\n' if secret else "")


def start(kpid_factory, text: str, name: str = "kpid"):
    k = kpid_factory(text, name=name, start=False)
    (k.workdir / "webhook.secret").write_text(SECRET + "\n")
    return k.start()


class Publisher:
    def __init__(self, port: int):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.PUSH)
        self.sock.connect(f"tcp://127.0.0.1:{port}")

    def errors(self, tenant: str, n: int, ts: int | None = None) -> float:
        """Sends n events; returns the send time of the last one (time.time())."""
        for _ in range(n):
            self.sock.send(json.dumps({"type": "req", "ts": ts or int(time.time() * 1000), "tenant": tenant}).encode())
        return time.time()

    def batch(self, tenant: str, n: int) -> None:
        """n events in one NDJSON frame: they reach the same flush."""
        ts = int(time.time() * 1000)
        self.sock.send("\n".join(json.dumps({"type": "req", "ts": ts, "tenant": tenant}) for _ in range(n)).encode())

    def close(self):
        self.sock.close(linger=1000)
        self.ctx.term()


def mid_minute() -> None:
    """Waits, if needed, so that the next few seconds stay in one calendar minute."""
    s = time.time() % 60
    if s > 45:
        time.sleep(60 - s + 0.5)


def ok_keys(requests: list[dict]) -> list[str]:
    return [r["headers"]["idempotency-key"] for r in requests if r["status"] == 200]


def test_a_threshold_alert_reaches_the_webhook_as_alertmanager_v4_and_the_mailbox_through_msmtp(
        kpid_factory, free_ports, webhook, smtp_server):
    smtp_port, maildir = smtp_server
    hook = webhook().start()
    zport = free_ports(1)[0]
    mail = f"""
[[receivers]]
name = "mail"
kind = "email"
to = ["oncall@example.com"]
from = "kpid@example.com"
sendmail = ["/usr/bin/msmtp", "--host=127.0.0.1", "--port={smtp_port}", "--auth=off", "--tls=off", "--from=kpid@example.com", "-t", "-i"]
"""
    k = start(kpid_factory, config(zport, hook_receiver("hook", hook.port) + mail))
    pub = Publisher(zport)
    try:
        mid_minute()
        pub.errors("t1", 2)
        time.sleep(0.6)  # two events: below the threshold, nothing is sent
        assert hook.requests() == []
        crossed = pub.errors("t1", 1)
        reqs = wait_for(hook.requests, 10, "the webhook request")
        latency_ms = (reqs[0]["t"] - crossed) * 1000
        print(f"\nthreshold-crossing event -> webhook request: {latency_ms:.0f} ms (flush_interval 200 ms)")
        r = reqs[0]
        body = json.loads(r["body"])
        assert set(body) == AM_V4_KEYS
        assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "hook"
        assert body["groupLabels"] == {"alertname": "tenant_errors", "tenant": "t1"}
        assert body["groupKey"] == '{}:{alertname="tenant_errors",tenant="t1"}'
        assert body["externalURL"] == "http://kpid.test"
        [a] = body["alerts"]
        assert set(a) == AM_V4_ALERT_KEYS
        assert a["labels"] == {"alertname": "tenant_errors", "severity": "critical", "tenant": "t1"}
        assert a["annotations"]["summary"] == "t1 had 3 errors"
        assert a["endsAt"] == "0001-01-01T00:00:00Z"
        assert len(a["fingerprint"]) == 16
        expected = "sha256=" + hmac.new(SECRET.encode(), r["body"].encode(), hashlib.sha256).hexdigest()
        assert r["headers"]["x-kpid-signature"] == expected
        assert len(r["headers"]["idempotency-key"]) == 32
        assert r["headers"]["content-type"] == "application/json"

        # The same notification by email, through msmtp into aiosmtpd.
        def mails():
            return list(mailbox.Maildir(str(maildir))) if (maildir / "new").exists() else []
        [m] = wait_for(mails, 15, "the email")
        assert str(make_header(decode_header(m["Subject"]))) == "[CRITICAL] tenant_errors firing: tenant=t1 3 errors"
        assert m["From"] == "kpid@example.com" and m["To"] == "oncall@example.com"
        assert m["Date"] and m["Message-ID"].startswith("<")
        assert "summary: t1 had 3 errors" in m.get_payload()

        # More errors in the same group: no new notification (nothing new to say).
        pub.errors("t1", 5)
        time.sleep(1.5)
        assert len(hook.requests()) == 1
        assert latency_ms <= 2 * 200 + 300, f"latency {latency_ms:.0f} ms"
    finally:
        pub.close()
    k.stop()


def test_a_receiver_down_then_up_gets_every_notification_exactly_once_and_4xx_is_not_retried(
        kpid_factory, free_ports, webhook):
    hook = webhook()            # not started yet: connection refused
    bad = webhook().start()     # answers 400
    zport = free_ports(1)[0]
    receivers = hook_receiver("hook", hook.port) + hook_receiver("bad", bad.port, path="/bad", secret=False)
    k = start(kpid_factory, config(zport, receivers))
    pub = Publisher(zport)
    try:
        mid_minute()
        for t in ("t1", "t2", "t3"):
            pub.errors(t, 3)
        wait_for(lambda: len(bad.requests()) >= 3, 10, "three 400 answers")
        time.sleep(2.5)         # several retry rounds against the closed port
        assert len(bad.requests()) == 3, "a 4xx is a permanent failure, never retried"
        hook.start(fail_first=2)  # up, but the first two requests answer 500
        wait_for(lambda: len(ok_keys(hook.requests())) >= 3, 20, "three delivered notifications")
        time.sleep(1.5)
        reqs = hook.requests()
        keys = ok_keys(reqs)
        assert len(keys) == 3 and len(set(keys)) == 3, f"each notification delivered exactly once: {keys}"
        assert [r["status"] for r in reqs].count(500) == 2
        tenants = sorted(json.loads(r["body"])["groupLabels"]["tenant"] for r in reqs if r["status"] == 200)
        assert tenants == ["t1", "t2", "t3"]
        # The retried requests carried the key of a notification that was later delivered.
        assert {r["headers"]["idempotency-key"] for r in reqs} == set(keys)
        rows = k._query("SELECT receiver, status, attempts FROM outbox ORDER BY receiver")
        assert sorted((r["receiver"], r["status"]) for r in rows) == [("bad", "failed")] * 3 + [("hook", "delivered")] * 3
        assert all(r["attempts"] >= 2 for r in rows if r["receiver"] == "hook")
    finally:
        pub.close()
    k.stop()


def test_a_restart_in_the_middle_loses_no_alert_and_duplicates_none(kpid_factory, free_ports, webhook, kpictl_bin):
    hook = webhook().start()
    zport = free_ports(1)[0]
    text = config(zport, hook_receiver("hook", hook.port),
                  rules="""
[[alerts]]
name = "tenant_errors"
metric = "errors"
condition = "value >= 3"
keep_firing_for = "10m"
severity = "high"
""")
    k = start(kpid_factory, text)
    pub = Publisher(zport)
    mid_minute()
    pub.errors("t1", 3)
    wait_for(lambda: len(ok_keys(hook.requests())) == 1, 10, "t1 delivered")
    hook.stop()                  # the receiver goes down...
    pub.errors("t2", 3)          # ...t2 fires and its notification waits in the outbox
    wait_for(lambda: k._query("SELECT COUNT(*) AS n FROM outbox WHERE receiver = 'hook' AND status = 'pending' AND attempts >= 1")[0]["n"] == 1,
             10, "t2 failing in the outbox")
    fired_before = {r["labels"]: r["fired_at"] for r in k._query("SELECT labels, fired_at FROM alert_state WHERE state = 'firing'")}
    pub.close()
    k.stop()                     # graceful restart in the middle
    hook.start()
    k2 = start(kpid_factory, text)  # same directory: same config and database
    wait_for(lambda: len(ok_keys(hook.requests())) == 2, 15, "t2 delivered after the restart")
    time.sleep(2.0)              # group_wait and group_interval pass; nothing is sent again
    keys = ok_keys(hook.requests())
    assert len(keys) == 2 and len(set(keys)) == 2, keys
    tenants = [json.loads(r["body"])["groupLabels"]["tenant"] for r in hook.requests() if r["status"] == 200]
    assert tenants == ["t1", "t2"]
    # The firing alerts and their start times survived; the history was not written twice.
    after = {r["labels"]: r["fired_at"] for r in k2._query("SELECT labels, fired_at FROM alert_state WHERE state = 'firing'")}
    assert after == fired_before and len(after) == 2
    assert k2._query("SELECT COUNT(*) AS n FROM alerts")[0]["n"] == 2
    out = subprocess.run([kpictl_bin, "alerts", "--db", str(k2.db_path)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("firing") >= 4, out.stdout   # 2 active + 2 history rows
    assert '"tenant":"t2"' in out.stdout
    k2.stop()


def test_kpictl_notify_test_sends_through_the_real_sender(kpid_factory, free_ports, webhook, kpictl_bin, tmp_path):
    hook = webhook().start()
    zport = free_ports(1)[0]
    k = kpid_factory(config(zport, hook_receiver("hook", hook.port) + hook_receiver("bad", hook.port, path="/bad")),
                     start=False)
    (k.workdir / "webhook.secret").write_text(SECRET)
    out = subprocess.run([kpictl_bin, "notify-test", "hook", "--config", str(k.config_path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    [r] = hook.requests()
    body = json.loads(r["body"])
    assert set(body) == AM_V4_KEYS and body["alerts"][0]["labels"]["alertname"] == "kpid_notify_test"
    assert r["headers"]["x-kpid-signature"] == "sha256=" + hmac.new(SECRET.encode(), r["body"].encode(), hashlib.sha256).hexdigest()
    bad = subprocess.run([kpictl_bin, "notify-test", "bad", "--config", str(k.config_path)],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "HTTP 400" in bad.stderr


def test_absent_for_fires_on_wall_clock_silence_and_resolves_when_data_returns(kpid_factory, free_ports, webhook):
    hook = webhook().start()
    zport = free_ports(1)[0]
    text = config(zport, hook_receiver("hook", hook.port), rules="""
[[alerts]]
name = "tenant_silent"
metric = "errors"
absent_for = "2s"
severity = "high"
annotations = { summary = "no events from {{ labels.tenant }}" }
""")
    k = start(kpid_factory, text)
    pub = Publisher(zport)
    try:
        mid_minute()
        sent = pub.errors("t1", 1)
        # No event-time progress at all from here on: only the wall clock moves.
        [r] = wait_for(lambda: [x for x in hook.requests() if x["status"] == 200], 10, "the absent alert")
        silence = r["t"] - sent
        assert 2.0 <= silence <= 3.5, f"fired after {silence:.2f} s of silence"
        body = json.loads(r["body"])
        assert body["status"] == "firing"
        assert body["alerts"][0]["labels"] == {"alertname": "tenant_silent", "severity": "high", "tenant": "t1"}
        assert body["alerts"][0]["annotations"]["summary"] == "no events from t1"
        pub.errors("t1", 1)   # data returns: a resolved notification (webhooks send_resolved by default)
        wait_for(lambda: len(ok_keys(hook.requests())) == 2, 10, "the resolved notification")
        resolved = json.loads(hook.requests()[-1]["body"])
        assert resolved["status"] == "resolved"
        assert resolved["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
        history = k._query("SELECT state, started_at, resolved_at FROM alerts")
        assert [h["state"] for h in history] == ["resolved"] and history[0]["resolved_at"]
    finally:
        pub.close()
    k.stop()


def test_a_firing_critical_inhibits_the_high_alert_of_the_same_tenant_only(kpid_factory, free_ports, webhook):
    hook = webhook().start()
    zport = free_ports(1)[0]
    text = config(zport, hook_receiver("hook", hook.port), rules="""
[[alerts]]
name = "errors_high"
metric = "errors"
condition = "value >= 3"
severity = "high"

[[alerts]]
name = "errors_critical"
metric = "errors"
condition = "value >= 5"
severity = "critical"
""")
    k = start(kpid_factory, text)
    pub = Publisher(zport)
    try:
        mid_minute()
        pub.batch("t1", 6)    # both rules hold for t1: the critical one mutes the high one
        pub.errors("t2", 3)   # only the high rule holds for t2: not muted (other tenant)
        wait_for(lambda: len(ok_keys(hook.requests())) >= 2, 10, "two notifications")
        time.sleep(1.5)       # a group_interval later, still nothing for (errors_high, t1)
        groups = sorted((json.loads(r["body"])["groupLabels"]["alertname"], json.loads(r["body"])["groupLabels"]["tenant"])
                        for r in hook.requests() if r["status"] == 200)
        assert groups == [("errors_critical", "t1"), ("errors_high", "t2")]
        # Both t1 alerts fire in kpid's state; only the notification was muted.
        firing = {(r["rule"], r["labels"]) for r in k._query("SELECT rule, series AS labels FROM alert_state WHERE state = 'firing'")}
        assert ("errors_high", '{"tenant":"t1"}') in firing and ("errors_critical", '{"tenant":"t1"}') in firing
    finally:
        pub.close()
    k.stop()


def past_minute() -> int:
    """A minute boundary ten minutes ago (ms): event times from here on are neither in the
    future nor late, and only the events the test sends move the watermark."""
    return (int(time.time()) // 60 - 10) * 60_000


def bodies(hook: Webhook) -> list[dict]:
    return [json.loads(r["body"]) for r in hook.requests() if r["status"] == 200]


def metrics(k) -> str:
    return get(f"{k.status_url}/metrics")[1]


def test_pending_becomes_firing_only_after_for_has_passed_in_event_time(kpid_factory, free_ports, webhook):
    hook = webhook().start()
    zport = free_ports(1)[0]
    text = config(zport, hook_receiver("hook", hook.port), rules="""
[[alerts]]
name = "tenant_errors"
metric = "errors"
condition = "value >= 3"
for = "30s"
severity = "high"
""")
    k = start(kpid_factory, text)
    pub = Publisher(zport)
    m0 = past_minute()
    try:
        # allowed_lateness is 1m: the watermark is the newest ts minus 60 s.
        pub.errors("t1", 3, ts=m0 + 1_000)          # holds at watermark m0-59s: pending
        wait_for(lambda: k._query("SELECT 1 FROM alert_state WHERE state = 'pending'"), 10, "the pending alert")
        wait_for(lambda: 'kpid_alerts{rule="tenant_errors",state="pending"} 1' in metrics(k), 5, "kpid_alerts pending in /metrics")
        pub.errors("clock", 1, ts=m0 + 20_000)      # watermark m0-40s: held 19 s < 30 s
        time.sleep(1.0)
        assert hook.requests() == []
        assert [r["state"] for r in k._query("SELECT state FROM alert_state WHERE rule = 'tenant_errors'")] == ["pending"]
        pub.errors("clock", 1, ts=m0 + 40_000)      # watermark m0-20s: held 39 s >= 30 s: firing
        [body] = wait_for(lambda: bodies(hook), 10, "the firing notification")
        assert body["status"] == "firing"
        assert body["alerts"][0]["labels"] == {"alertname": "tenant_errors", "severity": "high", "tenant": "t1"}
        row = k._query("SELECT state, active_at, fired_at FROM alert_state WHERE rule = 'tenant_errors'")[0]
        assert (row["state"], row["fired_at"] - row["active_at"]) == ("firing", 39_000)
        text = wait_for(lambda: (lambda t: t if 'kpid_alerts{rule="tenant_errors",state="firing"} 1' in t else None)(metrics(k)),
                        5, "kpid_alerts firing in /metrics")
        assert 'kpid_alerts{rule="tenant_errors",state="pending"} 0' in text
    finally:
        pub.close()
    k.stop()


def test_keep_firing_for_holds_a_flapping_alert_and_the_resolved_notification_follows(kpid_factory, free_ports, webhook):
    hook = webhook().start()
    zport = free_ports(1)[0]
    # The same condition twice: with keep_firing_for, and without it as the control.
    text = config(zport, hook_receiver("hook", hook.port), rules="""
[[alerts]]
name = "kept"
metric = "errors"
condition = "value >= 3"
keep_firing_for = "2m"
severity = "high"

[[alerts]]
name = "control"
metric = "errors"
condition = "value >= 3"
severity = "high"
""")
    k = start(kpid_factory, text)
    pub = Publisher(zport)
    m0 = past_minute()

    def statuses(rule: str) -> list[str]:
        return [b["status"] for b in bodies(hook) if b["groupLabels"]["alertname"] == rule]

    try:
        pub.errors("t1", 3, ts=m0 + 1_000)       # minute 0 has 3: both fire (watermark m0-59s)
        wait_for(lambda: len(bodies(hook)) == 2, 10, "both firing notifications")
        time.sleep(1.5)
        pub.errors("t1", 1, ts=m0 + 61_000)      # minute 1 has 1: the condition clears (watermark m0+1s)
        wait_for(lambda: statuses("control") == ["firing", "resolved"], 10, "the control resolving")
        time.sleep(1.5)
        pub.errors("t1", 2, ts=m0 + 62_000)      # minute 1 reaches 3: holds again
        wait_for(lambda: statuses("control") == ["firing", "resolved", "firing"], 10, "the control firing again")
        time.sleep(1.5)
        pub.errors("t1", 1, ts=m0 + 121_000)     # minute 2 has 1: clears; 59 s since it last held
        wait_for(lambda: statuses("control") == ["firing", "resolved", "firing", "resolved"], 10, "the control resolving again")
        time.sleep(1.5)
        assert statuses("kept") == ["firing"], "the flapping was held: no resolved, no second firing"
        assert k._query("SELECT state FROM alert_state WHERE rule = 'kept'")[0]["state"] == "firing"
        pub.errors("clock", 1, ts=m0 + 200_000)  # watermark m0+140s: 138 s since it last held > 2m
        wait_for(lambda: statuses("kept") == ["firing", "resolved"], 10, "the kept alert resolving")
        first, resolved = [b for b in bodies(hook) if b["groupLabels"]["alertname"] == "kept"]
        a, r = first["alerts"][0], resolved["alerts"][0]
        assert r["fingerprint"] == a["fingerprint"] and r["startsAt"] == a["startsAt"]
        assert a["endsAt"] == "0001-01-01T00:00:00Z" and r["endsAt"] > r["startsAt"]
        history = {(h["rule"], h["state"]) for h in k._query("SELECT rule, state FROM alerts")}
        counts = {rule: n["n"] for rule in ("kept", "control")
                  for n in k._query("SELECT COUNT(*) AS n FROM alerts WHERE rule = ?", (rule,))}
        assert counts == {"kept": 1, "control": 2} and ("kept", "resolved") in history
    finally:
        pub.close()
    k.stop()


def test_alerts_are_grouped_then_repeated_after_repeat_interval(kpid_factory, free_ports, webhook):
    hook = webhook().start()
    zport = free_ports(1)[0]
    text = config(zport, hook_receiver("hook", hook.port), alerting={
        "group_by": '["alertname"]', "group_wait": '"1s"', "group_interval": '"1s"', "repeat_interval": '"3s"'})
    k = start(kpid_factory, text)
    pub = Publisher(zport)
    m0 = past_minute()
    try:
        pub.errors("t1", 3, ts=m0 + 1_000)
        pub.errors("t2", 3, ts=m0 + 1_000)       # within group_wait: the same notification
        [n1] = wait_for(lambda: bodies(hook), 10, "the first group notification")
        assert n1["groupLabels"] == {"alertname": "tenant_errors"}
        assert n1["groupKey"] == '{}:{alertname="tenant_errors"}'
        assert sorted(a["labels"]["tenant"] for a in n1["alerts"]) == ["t1", "t2"]
        assert n1["commonLabels"] == {"alertname": "tenant_errors", "severity": "critical"}
        time.sleep(0.3)
        pub.errors("t3", 3, ts=m0 + 2_000)       # a new alert: sent at the next group_interval
        wait_for(lambda: len(bodies(hook)) == 2, 10, "the second group notification")
        wait_for(lambda: len(bodies(hook)) == 3, 10, "the repeat")
        time.sleep(1.5)
        reqs = [r for r in hook.requests() if r["status"] == 200]
        assert len(reqs) == 3, "one repeat per repeat_interval, nothing in between"
        n2, n3 = json.loads(reqs[1]["body"]), json.loads(reqs[2]["body"])
        assert sorted(a["labels"]["tenant"] for a in n2["alerts"]) == ["t1", "t2", "t3"]
        assert [a["fingerprint"] for a in n3["alerts"]] == [a["fingerprint"] for a in n2["alerts"]]
        # (arrival times: the delivery of either request may take a few ms more than the other)
        assert 0.9 <= reqs[1]["t"] - reqs[0]["t"] <= 2.5, "the new alert waited for group_interval"
        assert 2.9 <= reqs[2]["t"] - reqs[1]["t"] <= 4.5, "the repeat came after repeat_interval"
        assert len({r["headers"]["idempotency-key"] for r in reqs}) == 3
    finally:
        pub.close()
    k.stop()


def test_a_sighup_that_changes_the_rules_applies_them_without_a_restart(kpid_factory, free_ports, webhook):
    hook = webhook().start()
    zport = free_ports(1)[0]
    never = """
[[alerts]]
name = "tenant_errors"
metric = "errors"
condition = "value >= 1000"
severity = "critical"
"""
    k = start(kpid_factory, config(zport, hook_receiver("hook", hook.port), rules=never))
    pub = Publisher(zport)
    m0 = past_minute()
    try:
        pub.errors("t1", 3, ts=m0 + 1_000)
        k.wait_until(lambda: k.counter_sum("events_received") == 3, timeout=10, what="3 events")
        time.sleep(0.6)
        assert bodies(hook) == []
        # Same receivers and [alerting], the default rule (value >= 3): the rules reload.
        k.config_path.write_text(config(zport, hook_receiver("hook", hook.port)), encoding="utf-8")
        k.proc.send_signal(signal.SIGHUP)
        k.wait_until(lambda: 'msg="config reloaded"' in k.stdout_path.read_text(), timeout=20, what="the reload")
        assert "alert_rules=reloaded" in k.stdout_path.read_text()
        pub.errors("t1", 3, ts=m0 + 2_000)
        [body] = wait_for(lambda: bodies(hook), 10, "the notification of the reloaded rule")
        assert body["groupLabels"] == {"alertname": "tenant_errors", "tenant": "t1"}
    finally:
        pub.close()
    k.stop()
