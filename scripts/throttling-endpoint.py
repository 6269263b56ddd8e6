#!/usr/bin/env python3
"""A local endpoint that throttles every request, as an overloaded AWS Query service does.

Used by the tests to show that a throttled API does not abort an audit. Listens on 127.0.0.1 only, on the port
given (0 = a free one), prints the port on its first line of standard output, and logs one line per request
(`<Action>`) to standard error. Stops on SIGTERM.
"""
import http.server
import signal
import sys
import urllib.parse

BODY = (
    '<ErrorResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><Error><Type>Sender</Type>'
    "<Code>Throttling</Code><Message>Rate exceeded</Message></Error>"
    "<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>"
).encode()


class Throttle(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode(errors="replace"))
        sys.stderr.write("%s\n" % form.get("Action", ["?"])[0])
        sys.stderr.flush()
        self.send_response(400)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    do_GET = do_POST

    def log_message(self, *args):
        pass


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Throttle)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
