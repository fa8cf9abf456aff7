# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A scripted HTTP server on a free loopback port: a misbehaving SMS gateway, or a DLR listener.

    with HttpStub("unavailable") as stub:     # every request answered 503 "Temporal failure, try again later."
        stub.port, stub.requests              # [Request(client_port, path, query)]

Modes: an HTTP status from ANSWERS (Kannel's own answer texts), "hang" (reads the request, never
answers), "drop" (reads the request, closes without answering), "echo" (403 with the request line in
the body, as a careless gateway would), "close_idle" (202, then closes the kept-alive connection).
A list of modes scripts the answers: one per request in order, the last one for every request after.
"""

from __future__ import annotations

import threading
import urllib.parse
from collections import namedtuple
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .ports import free_port

ANSWERS = {
    "accepted": (202, "0: Accepted for delivery"),
    "queued": (202, "3: Queued for later delivery"),
    "not_routable": (403, "Not routable. Do not try again."),
    "bad_request": (400, "Sender missing and no global set, rejected"),
    "sending_failed": (500, "Sending failed."),
    "unavailable": (503, "Temporal failure, try again later."),
    "bad_gateway": (502, "Bad Gateway"),
    "ok": (200, "ok"),
}
Request = namedtuple("Request", "client_port path query")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like Kannel's smsbox

    def do_GET(self):  # noqa: N802 - http.server's naming
        stub = self.server.stub
        path, _sep, query = self.path.partition("?")
        stub.requests.append(Request(self.client_address[1], path, dict(urllib.parse.parse_qsl(query))))
        mode = stub.next_mode()
        if mode == "hang":
            stub.released.wait()
            self.close_connection = True
        elif mode == "drop":
            self.close_connection = True
        elif mode == "echo":
            self._answer(403, "Authorization failed for " + self.requestline)
        else:
            status, text = ANSWERS["accepted" if mode == "close_idle" else mode]
            self._answer(status, text)
            self.close_connection = mode == "close_idle"  # silently: no Connection: close header

    def _answer(self, status, text):
        body = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def shutdown_request(self, request):
        super().shutdown_request(request)
        self.stub.closed_connections += 1


class HttpStub:
    def __init__(self, mode="accepted"):
        self.mode = mode
        self._script = list(mode) if isinstance(mode, (list, tuple)) else [mode]
        self.requests = []
        self.closed_connections = 0  # connections this server has closed
        self.released = threading.Event()
        self.port = free_port("127.0.0.1", ("tcp",))
        self._server = _Server(("127.0.0.1", self.port), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def next_mode(self):
        return self._script.pop(0) if len(self._script) > 1 else self._script[0]

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    @property
    def connections(self):
        """How many TCP connections the requests came on."""
        return len({request.client_port for request in self.requests})

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
