#!/usr/bin/env python3
"""Counts the AWS requests a client sends, by service and action, on their way to a local endpoint.

Listens on 127.0.0.1 (port 0 = a free one, printed on the first line of standard output), forwards every
request unchanged to --upstream (a loopback URL) and relays the answer. On SIGTERM it writes the counts as JSON
({"kms:DescribeKey": 3, ...}, every attempt counted) to --out. The service comes from the SigV4 credential scope,
the action from `X-Amz-Target` (JSON protocols) or the `Action` form field (Query protocols). Used by
`scripts/perf-audit.sh` to count the calls of a binary that cannot count them itself.

Usage: count-requests.py --upstream http://127.0.0.1:PORT --out counts.json
"""
import argparse
import http.client
import http.server
import json
import re
import signal
import sys
import threading
import urllib.parse

COUNTS = {}
LOCK = threading.Lock()


def operation(headers, body):
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", headers.get("Authorization", ""))
    service = scope.group(1) if scope else "?"
    target = headers.get("X-Amz-Target")
    if target:
        return f"{service}:{target.split('.')[-1]}"
    form = urllib.parse.parse_qs(body.decode(errors="replace"))
    return f"{service}:{form.get('Action', ['?'])[0]}"


def handler(upstream):
    host, port = upstream.hostname, upstream.port

    class Forward(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with LOCK:
                op = operation(self.headers, body)
                COUNTS[op] = COUNTS.get(op, 0) + 1
            conn = http.client.HTTPConnection(host, port, timeout=300)
            conn.request(self.command, self.path, body=body, headers=dict(self.headers))
            answer = conn.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            conn.close()

        do_GET = do_POST

        def log_message(self, *args):
            pass

    return Forward


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--port", type=int, default=0)
    a = p.parse_args()
    upstream = urllib.parse.urlparse(a.upstream)
    if upstream.hostname != "127.0.0.1":
        sys.exit(f"--upstream {a.upstream} is not a loopback URL")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), handler(upstream))

    def stop(*_):
        with LOCK:
            with open(a.out, "w") as f:
                json.dump(dict(sorted(COUNTS.items())), f, indent=1)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
