#!/usr/bin/env python3
"""Counts the AWS requests a client sends, by service and action, on their way to a local endpoint.

Listens on 127.0.0.1 (port 0 = a free one, printed on the first line of standard output), forwards every
request unchanged to --upstream (a loopback URL) and relays the answer. On SIGTERM it writes the counts as JSON
({"kms:DescribeKey": 3, ...}, every attempt counted) to --out. The service comes from the SigV4 credential scope,
the action from `X-Amz-Target` (JSON protocols) or the `Action` form field (Query protocols). Used by
`scripts/perf-audit.sh` to count the calls of a binary that cannot count them itself.

With --quota SERVICE=RATE (repeatable) it also enforces request quotas the way AWS does, per account and Region: a
token bucket of RATE requests a second (burst RATE) for each access key, Region and service of the SigV4 scope (an
assumed role's session is one account); a request over it is not forwarded but answered with the service's own
throttling error (`Throttling`, EC2's `RequestLimitExceeded`, `ThrottlingException` for JSON protocols), and
counted under `throttled` in --out.

Usage: count-requests.py --upstream http://127.0.0.1:PORT --out counts.json [--quota rds=20 ...]
"""
import argparse
import http.client
import http.server
import json
import re
import signal
import sys
import threading
import time
import urllib.parse

COUNTS = {}
THROTTLED = {}
BUCKETS = {}
LOCK = threading.Lock()


class Bucket:
    """A token bucket: `rate` tokens a second, holding at most `rate`."""

    def __init__(self, rate):
        self.rate = rate
        self.tokens = rate
        self.at = time.monotonic()

    def take(self):
        now = time.monotonic()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


def throttling_answer(service, headers):
    """The status, content type and body a throttled AWS API answers with, in the request's protocol."""
    if headers.get("X-Amz-Target"):
        body = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
        return 400, "application/x-amz-json-1.1", body.encode()
    if service == "ec2":
        body = (
            "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message>"
            "</Error></Errors><RequestID>00000000-0000-0000-0000-000000000000</RequestID></Response>"
        )
        return 503, "text/xml", body.encode()
    body = (
        "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
        "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
    )
    return 400, "text/xml", body.encode()


def scope(headers):
    """The access key, Region and service of a request's SigV4 credential scope."""
    found = re.search(r"Credential=([^/]+)/[^/]+/([^/]+)/([^/]+)/", headers.get("Authorization", ""))
    return found.groups() if found else ("?", "?", "?")


def operation(headers, body):
    service = scope(headers)[2]
    target = headers.get("X-Amz-Target")
    if target:
        return f"{service}:{target.split('.')[-1]}"
    form = urllib.parse.parse_qs(body.decode(errors="replace"))
    return f"{service}:{form.get('Action', ['?'])[0]}"


def handler(upstream, quotas):
    host, port = upstream.hostname, upstream.port

    class Forward(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with LOCK:
                op = operation(self.headers, body)
                COUNTS[op] = COUNTS.get(op, 0) + 1
                key, region, service = scope(self.headers)
                over = False
                if service in quotas:
                    bucket = BUCKETS.setdefault((key, region, service), Bucket(quotas[service]))
                    over = not bucket.take()
                if over:
                    THROTTLED[op] = THROTTLED.get(op, 0) + 1
            if over:
                status, kind, data = throttling_answer(service, self.headers)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
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
    p.add_argument("--quota", action="append", default=[], metavar="SERVICE=RATE")
    a = p.parse_args()
    quotas = {}
    for q in a.quota:
        service, _, rate = q.partition("=")
        try:
            quotas[service] = float(rate)
        except ValueError:
            sys.exit(f"--quota {q}: expected SERVICE=RATE, e.g. rds=20")
    upstream = urllib.parse.urlparse(a.upstream)
    if upstream.hostname != "127.0.0.1":
        sys.exit(f"--upstream {a.upstream} is not a loopback URL")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), handler(upstream, quotas))

    def stop(*_):
        with LOCK:
            with open(a.out, "w") as f:
                counts = dict(sorted(COUNTS.items()))
                if quotas:
                    counts["throttled"] = dict(sorted(THROTTLED.items()))
                json.dump(counts, f, indent=1)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
