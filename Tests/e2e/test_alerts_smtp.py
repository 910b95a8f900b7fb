"""Alerts by direct SMTP, end to end: real kpid, a real aiosmtpd server process (smtp_server.py)
with STARTTLS required and AUTH PLAIN/LOGIN, its certificate signed by a private CA that the
test makes and hands to kpid as smtp_ca_file."""
from __future__ import annotations

import datetime
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from email import message_from_string
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from test_alerts import Publisher, config, past_minute, wait_for

HERE = Path(__file__).resolve().parent
USER, PASSWORD = "kpid", "correct horse battery staple"


def make_ca(d: Path, name: str) -> tuple[Path, Path, Path]:
    """A private CA and a server certificate it signs for 127.0.0.1 and localhost: (ca, cert, key)."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"kpid e2e {name}")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    paths = d / f"{name}-ca.pem", d / f"{name}-server.pem", d / f"{name}-server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class SmtpServer:
    """smtp_server.py in a subprocess; messages() and auths() read what it recorded."""

    def __init__(self, port: int, log: Path, cert: Path, key: Path):
        self.port, self.log, self.cert, self.key, self.proc = port, log, cert, key, None

    def start(self, implicit_tls: bool = False) -> "SmtpServer":
        self.proc = subprocess.Popen([sys.executable, str(HERE / "smtp_server.py"), str(self.port), str(self.log),
                                      "--cert", str(self.cert), "--key", str(self.key),
                                      "--user", USER, "--password", PASSWORD] + (["--implicit-tls"] if implicit_tls else []),
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            assert self.proc.poll() is None, "smtp_server.py exited"
            time.sleep(0.05)
        raise AssertionError("smtp_server.py did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)

    def records(self, kind: str) -> list[dict]:
        if not self.log.exists():
            return []
        return [r for r in (json.loads(line) for line in self.log.read_text().splitlines() if line.strip()) if r["kind"] == kind]

    def messages(self) -> list[dict]:
        return self.records("message")

    def auths(self) -> list[dict]:
        return self.records("auth")


@pytest.fixture
def smtps(free_ports, tmp_path):
    """An SMTP server with STARTTLS and AUTH (not started), and the CA file that trusts it."""
    ca, cert, key = make_ca(tmp_path, "good")
    server = SmtpServer(free_ports(1)[0], tmp_path / "smtp.jsonl", cert, key)
    yield server, ca
    server.stop()


def mail_receiver(port: int, ca: Path, password_file: str = "smtp.password") -> str:
    return f"""
[[receivers]]
name = "mail"
kind = "email"
to = ["oncall@example.com"]
from = "kpid@example.com"
smtp = "127.0.0.1:{port}"
smtp_tls = "starttls"
smtp_username = "{USER}"
smtp_password_file = "{password_file}"
smtp_ca_file = "{ca}"
timeout = "5s"
"""


RULE = """
[[alerts]]
name = "tenant_errors"
metric = "errors"
condition = "value >= 3"
severity = "critical"
annotations = { summary = "{{ labels.tenant }} had {{ value }} errors", value = "{{ value }} errors", description = "first line\\n.a line that starts with a dot" }
"""


def prepare_kpid(kpid_factory, text: str, password: str = PASSWORD):
    """A kpid (not started) whose workdir holds smtp.password, mode 0600."""
    k = kpid_factory(text, start=False)
    pw = k.workdir / "smtp.password"
    pw.write_text(password + "\n")
    os.chmod(pw, 0o600)
    return k


def start_kpid(kpid_factory, text: str, password: str = PASSWORD):
    return prepare_kpid(kpid_factory, text, password).start()


def metric(k, name: str, **labels: str) -> float:
    body = urllib.request.urlopen(f"{k.status_url}/metrics", timeout=5).read().decode()
    want = ",".join(f'{key}="{v}"' for key, v in sorted(labels.items()))
    for line in body.splitlines():
        if line.startswith(name + "{"):
            got = ",".join(sorted(line[len(name) + 1:line.index("}")].split(",")))
            if got == want:
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_a_firing_alert_arrives_once_by_smtp_over_starttls_with_auth_and_a_proper_message(kpid_factory, free_ports, smtps):
    server, ca = smtps
    server.start()
    zport = free_ports(1)[0]
    k = start_kpid(kpid_factory, config(zport, mail_receiver(server.port, ca), rules=RULE))
    pub = Publisher(zport)
    try:
        m0 = past_minute()  # event times of a past minute: the window stays open
        pub.errors("t1", 3, ts=m0 + 1_000)
        [m] = wait_for(server.messages, 15, "the message")
        time.sleep(1.5)  # group_interval passes: nothing new to say, nothing sent again
        assert len(server.messages()) == 1
        assert m["tls"] is True and m["auth_user"] == USER
        assert m["mail_from"] == "kpid@example.com" and m["rcpt_tos"] == ["oncall@example.com"]
        assert [a["ok"] for a in server.auths()] == [True]
        msg = message_from_string(m["data"])
        assert str(make_header(decode_header(msg["Subject"]))) == "[CRITICAL] tenant_errors firing: tenant=t1 3 errors"
        assert msg["From"] == "kpid@example.com" and msg["To"] == "oncall@example.com"
        sent = parsedate_to_datetime(msg["Date"])
        assert abs(sent.timestamp() - time.time()) < 60
        [row] = k._query("SELECT idempotency_key, status, attempts FROM outbox WHERE receiver = 'mail'")
        assert (row["status"], row["attempts"]) == ("delivered", 1)
        assert msg["Message-ID"] == f"<{row['idempotency_key']}@example.com>"
        assert msg["MIME-Version"] == "1.0" and msg.get_content_type() == "text/plain"
        assert msg.get_content_charset() == "utf-8"
        body = msg.get_payload()
        assert "FIRING: tenant_errors" in body and "summary: t1 had 3 errors" in body
        # Dot-stuffing: the server strips one leading dot, so the line arrives as written.
        assert "\n.a line that starts with a dot" in body.replace("\r\n", "\n")
        assert metric(k, "kpid_notifications_total", receiver="mail", outcome="delivered") == 1
    finally:
        pub.close()
    k.stop()


def test_a_wrong_smtp_password_is_a_permanent_failure_counted_and_not_retried(kpid_factory, free_ports, smtps):
    server, ca = smtps
    server.start()
    zport = free_ports(1)[0]
    k = start_kpid(kpid_factory, config(zport, mail_receiver(server.port, ca), rules=RULE), password="wrong")
    pub = Publisher(zport)
    try:
        m0 = past_minute()  # event times of a past minute: the window stays open
        pub.errors("t1", 3, ts=m0 + 1_000)
        wait_for(lambda: k._query("SELECT status FROM outbox WHERE status = 'failed'"), 15, "the failed notification")
        time.sleep(2.5)  # several retry_max periods: a permanent failure is not tried again
        assert [(a["user"], a["ok"]) for a in server.auths()] == [(USER, False)]
        assert server.messages() == []
        [row] = k._query("SELECT status, attempts, last_error FROM outbox")
        assert (row["status"], row["attempts"]) == ("failed", 1)
        assert "535" in row["last_error"], row["last_error"]
        assert metric(k, "kpid_notifications_total", receiver="mail", outcome="failed") == 1
        assert "notification failed permanently" in k.stdout_path.read_text()
    finally:
        pub.close()
    k.stop()


def test_an_smtp_server_down_then_up_gets_every_notification_exactly_once(kpid_factory, free_ports, smtps):
    server, ca = smtps  # not started: connection refused
    zport = free_ports(1)[0]
    k = start_kpid(kpid_factory, config(zport, mail_receiver(server.port, ca), rules=RULE))
    pub = Publisher(zport)
    try:
        m0 = past_minute()  # event times of a past minute: the window stays open
        pub.errors("t1", 3, ts=m0 + 1_000)
        pub.errors("t2", 3, ts=m0 + 1_000)
        wait_for(lambda: k._query("SELECT 1 FROM outbox WHERE receiver = 'mail' AND status = 'pending' AND attempts >= 2"),
                 15, "retries against the closed port")
        assert metric(k, "kpid_notifications_total", receiver="mail", outcome="retry") >= 2
        server.start()
        wait_for(lambda: len(server.messages()) >= 2, 20, "both notifications")
        time.sleep(2.0)
        msgs = [message_from_string(m["data"]) for m in server.messages()]
        assert len(msgs) == 2, [m["Subject"] for m in msgs]
        assert sorted(str(make_header(decode_header(m["Subject"]))) for m in msgs) == [
            "[CRITICAL] tenant_errors firing: tenant=t1 3 errors", "[CRITICAL] tenant_errors firing: tenant=t2 3 errors"]
        rows = k._query("SELECT idempotency_key, status, attempts, last_error FROM outbox ORDER BY id")
        assert [r["status"] for r in rows] == ["delivered", "delivered"]
        assert sorted(m["Message-ID"] for m in msgs) == sorted(f"<{r['idempotency_key']}@example.com>" for r in rows)
        assert rows[0]["attempts"] >= 2, "the oldest was retried; the other waited behind it (one receiver, in order)"
    finally:
        pub.close()
    k.stop()


def test_kpictl_notify_test_goes_through_smtp_and_checks_the_certificate(kpid_factory, free_ports, smtps, kpictl_bin, tmp_path):
    server, ca = smtps
    server.start()
    zport = free_ports(1)[0]
    other_ca, _, _ = make_ca(tmp_path, "other")
    text = config(zport, mail_receiver(server.port, ca) + mail_receiver(server.port, other_ca).replace('"mail"', '"mail-wrong-ca"'))
    k = prepare_kpid(kpid_factory, text)
    pw = k.workdir / "smtp.password"
    out = subprocess.run([kpictl_bin, "notify-test", "mail", "--config", str(k.config_path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    [m] = server.messages()
    msg = message_from_string(m["data"])
    assert str(make_header(decode_header(msg["Subject"]))).startswith("[INFO] kpid_notify_test firing")
    assert m["tls"] is True and m["auth_user"] == USER
    # A server certificate that the configured CA did not sign: refused before AUTH, retryable.
    bad = subprocess.run([kpictl_bin, "notify-test", "mail-wrong-ca", "--config", str(k.config_path)],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "would be retried" in bad.stderr, bad.stderr
    assert "CERTIFICATE_VERIFY_FAILED" in bad.stderr or "certificate" in bad.stderr.lower(), bad.stderr
    assert len(server.messages()) == 1 and len(server.auths()) == 1
    # A password file others can read is a config error naming the key and the line.
    os.chmod(pw, 0o644)
    lax = subprocess.run([kpictl_bin, "notify-test", "mail", "--config", str(k.config_path)],
                         capture_output=True, text=True, timeout=30)
    assert lax.returncode != 0 and "smtp_password_file" in lax.stderr and "mode 0644" in lax.stderr, lax.stderr


def test_implicit_tls_smtp_with_auth_delivers_and_a_starttls_client_cannot_talk_to_it(kpid_factory, free_ports, smtps, kpictl_bin):
    server, ca = smtps
    server.start(implicit_tls=True)
    zport = free_ports(1)[0]
    tls = mail_receiver(server.port, ca).replace('smtp_tls = "starttls"', 'smtp_tls = "tls"')
    starttls = mail_receiver(server.port, ca).replace('"mail"', '"mail-starttls"').replace('timeout = "5s"', 'timeout = "2s"')
    k = prepare_kpid(kpid_factory, config(zport, tls + starttls))
    out = subprocess.run([kpictl_bin, "notify-test", "mail", "--config", str(k.config_path)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    [m] = server.messages()
    assert m["auth_user"] == USER and m["rcpt_tos"] == ["oncall@example.com"]
    assert str(make_header(decode_header(message_from_string(m["data"])["Subject"]))).startswith("[INFO] kpid_notify_test")
    # A plain-text client on a TLS port gets no SMTP greeting: retried, bounded by the timeout.
    began = time.monotonic()
    bad = subprocess.run([kpictl_bin, "notify-test", "mail-starttls", "--config", str(k.config_path)],
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "would be retried" in bad.stderr, bad.stderr
    assert time.monotonic() - began < 10
    assert len(server.messages()) == 1
