# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small Kamailio JSON-RPC client (xhttp + jsonrpcs over HTTP), stdlib only.

    rpc = KamailioRpc("http://127.0.0.1:5071/RPC", timeout=5)
    rpc.call("core.version")
    rpc.registered_contacts()   # [{username, domain, aor, contact, source, expires, ...}]
"""

from __future__ import annotations

import itertools
import json
import socket
import urllib.error
import urllib.request
from urllib.parse import urlparse


class RpcUnavailable(Exception):
    """Kamailio's JSON-RPC endpoint cannot be reached or did not answer JSON-RPC."""


class RpcError(Exception):
    """Kamailio answered with a JSON-RPC error object."""

    def __init__(self, method, code, message):
        super().__init__("RPC %s failed: %s %s" % (method, code, message))
        self.method = method
        self.code = code
        self.message = message


_NOT_SET = ("", "[not set]")


def _hostport(uri):
    """'sip:user@1.2.3.4:5060;transport=udp' -> '1.2.3.4:5060' (default port 5060)."""
    if not uri or uri in _NOT_SET:
        return None
    rest = uri.split(":", 1)[1] if ":" in uri and uri.split(":", 1)[0].lower() in ("sip", "sips") else uri
    rest = rest.split("@", 1)[-1]
    for sep in (";", "?", ">"):
        rest = rest.split(sep, 1)[0]
    if rest.startswith("["):  # IPv6 literal
        host, tail = rest[1:].partition("]")[::2]
        port = tail[1:] if tail.startswith(":") else "5060"
        return "[%s]:%s" % (host, port)
    host, port = rest.partition(":")[::2]
    return "%s:%s" % (host, port or "5060")


class KamailioRpc:
    """JSON-RPC 2.0 over HTTP POST to Kamailio's jsonrpcs module."""

    def __init__(self, url, timeout=5.0):
        parsed = urlparse(url or "")
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("Kamailio RPC URL must be http://IP:PORT/RPC, got %r" % (url,))
        self.url = url
        self.timeout = timeout
        self._ids = itertools.count(1)
        # never through an http(s)_proxy from the environment: the RPC socket is local
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method, *params):
        """Call `method` with positional params; return the JSON-RPC result."""
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params:
            body["params"] = list(params)
        data = json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url, data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            # jsonrpcs answers RPC errors with HTTP 200 + an error object; anything
            # else (404 wrong path, 403 wrong port) means the endpoint is wrong.
            raw = exc.read() or b""
            try:
                answer = json.loads(raw.decode("utf-8"))
            except ValueError:
                raise RpcUnavailable("Kamailio RPC at %s answered HTTP %s %s" % (self.url, exc.code, exc.reason)) from None
            return self._result(method, answer)
        except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RpcUnavailable("Kamailio RPC at %s is not reachable: %s" % (self.url, reason)) from None
        try:
            answer = json.loads(raw.decode("utf-8"))
        except ValueError:
            raise RpcUnavailable("Kamailio RPC at %s did not answer JSON" % self.url) from None
        return self._result(method, answer)

    @staticmethod
    def _result(method, answer):
        if not isinstance(answer, dict):
            raise RpcUnavailable("unexpected JSON-RPC answer to %s" % method)
        if "error" in answer:
            error = answer["error"] or {}
            raise RpcError(method, error.get("code"), error.get("message"))
        return answer.get("result")

    def ping(self):
        """True when Kamailio answers (core.version), False otherwise."""
        try:
            self.call("core.version")
            return True
        except (RpcUnavailable, RpcError):
            return False

    def registered_contacts(self, table="location"):
        """Live registrations from `ul.dump`, expired/deleted ones left out.

        Each item: username, domain, aor, contact (URI), source ("ip:port" the
        REGISTER came from; falls back to the contact's host:port), expires
        (seconds left; None when permanent), user_agent, socket, call_id.
        """
        result = self.call("ul.dump") or {}
        contacts = []
        for domain_entry in result.get("Domains") or []:
            domain = (domain_entry or {}).get("Domain") or {}
            if table and domain.get("Domain") not in (None, table):
                continue
            for aor_entry in domain.get("AoRs") or []:
                info = (aor_entry or {}).get("Info") or {}
                aor = info.get("AoR") or ""
                username, user_domain = aor.partition("@")[::2]
                for contact_entry in info.get("Contacts") or []:
                    c = (contact_entry or {}).get("Contact") or {}
                    expires = c.get("Expires")
                    if isinstance(expires, str):
                        if expires.lower() == "permanent":
                            expires = None
                        else:  # "expired" / "deleted"
                            continue
                    elif expires is not None and expires <= 0:
                        continue
                    address = c.get("Address") or ""
                    received = c.get("Received")
                    contacts.append({
                        "username": username,
                        "domain": user_domain or None,
                        "aor": aor,
                        "contact": address,
                        "source": _hostport(received) or _hostport(address),
                        "expires": expires,
                        "user_agent": c.get("User-Agent") or "",
                        "socket": c.get("Socket") or "",
                        "call_id": c.get("Call-ID") or "",
                    })
        return contacts

    def unregister(self, username, domain=None, table="location"):
        """Drop every registration of an account now (`ul.rm`; no error when it has none)."""
        aor = "%s@%s" % (username, domain) if domain else username
        self.call("ul.rm", table, aor)
