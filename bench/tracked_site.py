#!/usr/bin/env python3
"""The tracked site for bench/run.sh: the website whose pages Footfall counts.

Answers 200 to every GET or HEAD, except paths starting with /__404 (404), and
counts the probes it received. GET /__probes returns the counts as JSON
(`{"total": N, "ok": N, "not_found": N}`) and is not itself counted.

Usage: tracked_site.py PORT   (listens on 127.0.0.1 only)
"""
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
COUNTS = {"total": 0, "ok": 0, "not_found": 0}


class Handler(BaseHTTPRequestHandler):
    # Keep-alive, so a prober's connection pool is exercised as in production.
    protocol_version = "HTTP/1.1"

    def answer(self, with_body):
        if self.path == "/__probes":
            with LOCK:
                body = json.dumps(COUNTS).encode()
            code, ctype = 200, "application/json"
        else:
            code = 404 if self.path.startswith("/__404") else 200
            with LOCK:
                COUNTS["total"] += 1
                COUNTS["ok" if code == 200 else "not_found"] += 1
            body, ctype = (b"ok", "text/plain") if code == 200 else (b"not found", "text/plain")
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def do_GET(self):
        self.answer(True)

    def do_HEAD(self):
        self.answer(False)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


if __name__ == "__main__":
    port = int(sys.argv[1])
    Server(("127.0.0.1", port), Handler).serve_forever()
