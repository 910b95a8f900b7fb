"""A real SMTP server for the alert e2e tests: aiosmtpd with STARTTLS (required) and AUTH
(PLAIN and LOGIN, only after TLS), recording what it saw as JSON lines.

    smtp_server.py PORT LOG --cert CERT --key KEY --user U --password P [--implicit-tls]

With --implicit-tls the server speaks TLS from the first byte (port 465 style) instead.

LOG gets one line per accepted message ({"kind": "message", "t", "mail_from", "rcpt_tos", "tls",
"auth_user", "data"}) and one per AUTH attempt ({"kind": "auth", "t", "user", "ok"}).
Runs until SIGTERM.
"""
from __future__ import annotations

import argparse
import json
import signal
import ssl
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Recorder:
    def __init__(self, log: str, user: str, password: str, implicit_tls: bool):
        self.log, self.user, self.password, self.implicit_tls = log, user, password, implicit_tls
        self.lock = threading.Lock()

    def write(self, record: dict) -> None:
        record["t"] = time.time()
        with self.lock, open(self.log, "a") as f:
            f.write(json.dumps(record) + "\n")

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode()
        ok = user == self.user and auth_data.password.decode() == self.password
        self.write({"kind": "auth", "user": user, "mechanism": mechanism, "ok": ok})
        # handled=False: aiosmtpd answers 535 itself on a failure.
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    async def handle_DATA(self, server, session, envelope):
        self.write({"kind": "message", "mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                    "tls": self.implicit_tls or session.ssl is not None, "auth_user": session.auth_data.login.decode()
                    if isinstance(session.auth_data, LoginPassword) else None,
                    "data": envelope.original_content.decode("utf-8", "replace")})
        return "250 2.0.0 Message accepted for delivery"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("log")
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--implicit-tls", action="store_true")
    a = p.parse_args()
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(a.cert, a.key)
    rec = Recorder(a.log, a.user, a.password, a.implicit_tls)
    if a.implicit_tls:
        # aiosmtpd only knows STARTTLS as "TLS" for auth_require_tls: the whole session is TLS here.
        controller = Controller(rec, hostname="127.0.0.1", port=a.port, ssl_context=tls,
                                authenticator=rec.authenticate, auth_required=True, auth_require_tls=False)
    else:
        controller = Controller(rec, hostname="127.0.0.1", port=a.port, tls_context=tls, require_starttls=True,
                                authenticator=rec.authenticate, auth_required=True, auth_require_tls=True)
    controller.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
