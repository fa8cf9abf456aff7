# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`switchboard_sms_gateway`: which gateway, where. The Kannel password comes from the vault, never the URL.

    file:///ABSOLUTE/DIR
    kannel://USER@HOST:PORT?smsc=ID           (optional &from=SENDER, else Kannel's global-sender)
"""

from __future__ import annotations

import dataclasses
import os
from urllib.parse import parse_qs, urlsplit

from ..errors import SwitchboardError
from .file import FileGateway
from .kannel import KannelGateway

VARIABLE = "switchboard_sms_gateway"
RATE_VARIABLE = "switchboard_sms_rate"
FORMS = "file:///ABSOLUTE/DIR or kannel://USER@HOST:PORT?smsc=ID"
KANNEL_OPTIONS = {"smsc": True, "from": False}  # query parameter -> required


@dataclasses.dataclass(frozen=True)
class FileSettings:
    directory: str


@dataclasses.dataclass(frozen=True)
class KannelSettings:
    host: str
    port: int
    username: str
    smsc: str
    sender: str | None = None


def parse_gateway(value):
    """The URL -> FileSettings or KannelSettings; a SwitchboardError that says what is wrong otherwise."""
    if not isinstance(value, str) or not value.strip():
        raise _error(value, "it is empty")
    try:
        url = urlsplit(value.strip())
    except ValueError as exc:
        raise _error(value, "not a URL (%s)" % exc) from None
    if url.scheme == "file":
        return _file_settings(value, url)
    if url.scheme == "kannel":
        return _kannel_settings(value, url)
    raise _error(value, "unknown gateway %r" % url.scheme if url.scheme else "no gateway scheme")


def open_gateway(value, password=None, rate=None, timeout=10.0):
    """The gateway the URL names, ready to send (a Kannel gateway connects on its first message)."""
    settings = parse_gateway(value)
    rate = parse_rate(rate)
    if isinstance(settings, FileSettings):
        return FileGateway(settings.directory, rate=rate)
    if not password:
        raise SwitchboardError("%s %s: the Kannel sendsms password is missing (give it from the vault)"
                               % (VARIABLE, redact_url(value)))
    return KannelGateway(settings.host, settings.port, settings.username, password, settings.smsc,
                         sender=settings.sender, rate=rate, timeout=timeout)


def parse_rate(value):
    """`switchboard_sms_rate`: messages per second; None, 0 or '' means no limit."""
    if value is None or value == "":
        return None
    try:
        rate = float(value)
    except (TypeError, ValueError):
        rate = -1.0
    if not rate >= 0 or rate == float("inf") or isinstance(value, bool):
        raise SwitchboardError("%s %r: give messages per second, a number of 0 (no limit) or more" % (RATE_VARIABLE, value))
    return rate or None


def _file_settings(value, url):
    if url.netloc:
        raise _error(value, "a file gateway has no host: three slashes, file:///ABSOLUTE/DIR")
    if url.query or url.fragment:
        raise _error(value, "a file gateway takes no options")
    if not url.path.startswith("/"):
        raise _error(value, "the directory must be absolute")
    return FileSettings(os.path.normpath(url.path))


def _kannel_settings(value, url):
    if url.password is not None:
        raise _error(value, "the password does not belong in the URL: give it from the vault")
    try:
        port = url.port  # urlsplit checks the port only when asked
    except ValueError as exc:
        raise _error(value, "not a URL (%s)" % exc) from None
    if not url.username or not url.hostname or port is None:
        raise _error(value, "Kannel needs USER@HOST:PORT")
    if url.path not in ("", "/") or url.fragment:
        raise _error(value, "Kannel takes no path: the sendsms URL is fixed")
    options = _kannel_options(value, url.query)
    return KannelSettings(url.hostname, port, url.username, options["smsc"], options.get("from"))


def _kannel_options(value, query):
    try:
        options = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise _error(value, "options are NAME=VALUE joined by &") from None
    unknown = sorted(set(options) - set(KANNEL_OPTIONS))
    if unknown:
        raise _error(value, "unknown option%s %s (known: %s)" % ("s" if len(unknown) > 1 else "", ", ".join(unknown),
                                                                 ", ".join(KANNEL_OPTIONS)))
    for name, required in KANNEL_OPTIONS.items():
        values = options.get(name, [])
        if len(values) > 1 or values == [""] or (required and not values):
            raise _error(value, "give %s=%s once" % (name, "ID" if name == "smsc" else "SENDER"))
    return {name: values[0] for name, values in options.items()}


def redact_url(value):
    """The URL with any password in it masked, for messages."""
    try:
        url = urlsplit(str(value))
        password = url.password
    except ValueError:
        return "<unparsable URL>"
    if not password:
        return str(value)
    netloc = url.netloc.replace(":" + password + "@", ":********@", 1)
    return url._replace(netloc=netloc).geturl()


def _error(value, message):
    return SwitchboardError("%s %r: %s (use %s)" % (VARIABLE, redact_url(value) if isinstance(value, str) else value,
                                                    message, FORMS))
