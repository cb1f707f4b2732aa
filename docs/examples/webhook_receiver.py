"""A webhook receiver for trying the API on your machine: it verifies each delivery's signature
(docs/api_webhooks.md) and prints the event.

    python docs/examples/webhook_receiver.py SECRET [PORT]      # default port 9000
"""

import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

SECRET = sys.argv[1]


def verify_signature(secret, headers, body, tolerance_s=300):
    timestamp = headers.get("X-Docanalysis-Timestamp", "")
    signature = headers.get("X-Docanalysis-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance_s:
        return False
    signed = timestamp.encode() + b"." + body
    expected = "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, part.strip()) for part in signature.split(","))


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        ok = verify_signature(SECRET, self.headers, body)
        self.send_response(204 if ok else 401)
        self.end_headers()
        event = json.loads(body) if ok else {}
        print("signature", "OK" if ok else "BAD", event.get("event"), event.get("data"), flush=True)

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 9000), Receiver).serve_forever()
