# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The `kannel` gateway (kannel://USER@HOST:PORT?smsc=ID): Kannel smsbox's HTTP GET /cgi-bin/sendsms.

One HTTP/1.1 connection is kept open and reused for every message. Kannel's answers
(gw/smsbox.c) are classified as:
  202 "0: Accepted for delivery" / "3: Queued for later delivery"  -> accepted (Kannel retries queued ones itself)
  403 "Not routable. Do not try again." / "Authorization failed…"  -> failed, like every other 4xx
  500 "Sending failed." (smsbox could not hand it to bearerbox)    -> failed
  503 "Temporal failure, try again later."                          -> retry_later (not sent)
  connection refused or unreachable before the request               -> retry_later (not sent)
  no answer in time, connection dropped after the request, other     -> unknown (maybe sent)
The password travels only in the query string, which no outcome or error ever shows.
"""

from __future__ import annotations

import http.client
import select
import socket
from urllib.parse import quote, urlencode

from . import dlr
from .gateway import ACCEPTED, FAILED, RETRY_LATER, UNKNOWN, Gateway, Outcome

SENDSMS_PATH = "/cgi-bin/sendsms"
MAX_REASON = 200
REDACTED = "********"


class KannelGateway(Gateway):

    def __init__(self, host, port, username, password, smsc, sender=None, rate=None, timeout=10.0):
        super().__init__(rate)
        self.host, self.port = host, port
        self.username, self.smsc, self.sender = username, smsc, sender
        self.timeout = timeout
        self._password = password or ""
        self._connection = None

    def describe(self):
        return "kannel://%s@%s:%d?smsc=%s" % (self.username, self.host, self.port, self.smsc)

    def close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _deliver(self, message):
        try:
            connection = self._connect()
        except OSError as exc:
            self.close()
            return Outcome(RETRY_LATER, self._redact("not sent: cannot connect to %s:%d: %s" % (self.host, self.port, _why(exc))))
        try:
            connection.request("GET", SENDSMS_PATH + "?" + self._query(message))
            response = connection.getresponse()
            status, body = response.status, response.read()
        except socket.timeout:
            self.close()
            return Outcome(UNKNOWN, "maybe sent: no answer from %s:%d within %g s" % (self.host, self.port, self.timeout))
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return Outcome(UNKNOWN, self._redact("maybe sent: connection to %s:%d lost after the request: %s"
                                                 % (self.host, self.port, _why(exc))))
        if response.will_close:
            self.close()
        return self._classify(status, body.decode("utf-8", "replace").strip())

    def _connect(self):
        """The open connection, unless Kannel closed it while idle: a request on it would be lost
        in a way we could not tell from "maybe sent", so a fresh one is opened first."""
        if self._connection is not None and _closed_by_peer(self._connection):
            self.close()
        if self._connection is None:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            connection.connect()
            self._connection = connection
        return self._connection

    def _query(self, message):
        params = [("username", self.username), ("password", self._password), ("smsc", self.smsc),
                  ("to", message.to), ("text", message.text), ("charset", "UTF-8")]
        if not message.text.isascii():
            params.append(("coding", "2"))  # UCS-2: accents and symbols arrive as written
        if self.sender:
            params.append(("from", self.sender))
        if message.dlr_url:
            params += [("dlr-mask", str(dlr.DLR_MASK)), ("dlr-url", dlr.callback_url(message.dlr_url, message.id))]
        return urlencode(params, quote_via=quote)

    def _classify(self, status, body):
        reason = self._redact("HTTP %d: %s" % (status, body[:MAX_REASON] or http.client.responses.get(status, "")))
        if 200 <= status < 300:
            return Outcome(ACCEPTED, reason)
        if status == 503:
            return Outcome(RETRY_LATER, reason)
        if 400 <= status < 500 or status == 500:
            return Outcome(FAILED, reason)
        return Outcome(UNKNOWN, reason)

    def _redact(self, text):
        """Whatever a server or a library echoes back, the password never leaves this object."""
        if not self._password:
            return text
        # Longest form first, so a shorter form never replaces part of a longer one and leaves a fragment behind.
        for form in sorted({self._password, quote(self._password, safe=""), quote(self._password)}, key=len, reverse=True):
            text = text.replace(form, REDACTED)
        return text


def _closed_by_peer(connection):
    """An idle keep-alive socket that is readable has been closed (or broken) by the server."""
    sock = connection.sock
    if sock is None:
        return True
    try:
        readable, _w, _x = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def _why(exc):
    return exc.strerror or str(exc) or type(exc).__name__
