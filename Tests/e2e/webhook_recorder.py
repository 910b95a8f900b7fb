"""A real HTTP server for the alert e2e tests, run as its own process.

    python webhook_recorder.py PORT LOGFILE [--fail-first N]

Every POST is appended to LOGFILE as one JSON line: path, headers, body, the status answered and
the arrival time. `/bad...` paths answer 400; on other paths the first N requests answer 500,
then 200.
"""
from __future__ import annotations

import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
LOG = sys.argv[2]
FAIL_FIRST = int(sys.argv[sys.argv.index("--fail-first") + 1]) if "--fail-first" in sys.argv else 0
lock = threading.Lock()
seen = {"n": 0}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode("utf-8")
        with lock:
            seen["n"] += 1
            if self.path.startswith("/bad"):
                status = 400
            elif seen["n"] <= FAIL_FIRST:
                status = 500
            else:
                status = 200
            with open(LOG, "a", encoding="utf-8") as f:
                f.write(json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                    "body": body, "status": status, "t": time.time()}) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
