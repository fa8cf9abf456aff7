# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The far end of a call, for tests that must read what the callee receives: a UDP SIP endpoint
that records every INVITE and answers it with a chosen status (180 keeps the call ringing, so it
stays an open call on the server). Register its address first (sipsak_register with local_port)."""

from __future__ import annotations

import re
import socket
import threading
import time

_HEADER = re.compile(r"^([A-Za-z-]+):\s*(.*?)\s*$", re.M)
COPIED = ("via", "from", "to", "call-id", "cseq")


def headers(message):
    """{lower-case name: [values]} of a SIP message."""
    found = {}
    for name, value in _HEADER.findall(message.split("\r\n\r\n", 1)[0]):
        found.setdefault(name.lower(), []).append(value)
    return found


class StubCallee:
    def __init__(self, local_ip, port, invite_status=(180, "Ringing")):
        self.invite_status = invite_status
        self.invites = []
        self._ringing = {}  # Call-ID -> INVITE not answered finally yet
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((local_ip, port))
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _reply(self, request, address, code, reason):
        lines = ["SIP/2.0 %d %s" % (code, reason)]
        for line in request.split("\r\n\r\n", 1)[0].split("\r\n")[1:]:
            name = line.split(":", 1)[0].strip().lower()
            if name in COPIED:
                lines.append(line + (";tag=stub" if name == "to" and ";tag=" not in line else ""))
        self.sock.sendto(("\r\n".join(lines + ["Content-Length: 0", "", ""])).encode(), address)

    def _serve(self):
        while not self._stop.is_set():
            try:
                data, address = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            message = data.decode("utf-8", "replace")
            method = message.split(" ", 1)[0]
            call_id = (headers(message).get("call-id") or [""])[0]
            if method == "INVITE":
                if call_id not in self._ringing:  # a retransmission is the same call
                    self.invites.append(message)
                    self._ringing[call_id] = message
                self._reply(message, address, *self.invite_status)
            elif method in ("OPTIONS", "BYE", "CANCEL"):
                self._reply(message, address, 200, "OK")
                if method == "CANCEL" and call_id in self._ringing:  # the caller hung up: the call ends
                    self._reply(self._ringing.pop(call_id), address, 487, "Request Terminated")

    def wait_invites(self, count, timeout=5.0):
        deadline = time.monotonic() + timeout
        while len(self.invites) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.invites

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(2)
        self.sock.close()
