# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The interface every SMS gateway implements: send one message, get one classified outcome.

Outcomes tell the caller what it may do next, because an SMS is sent at most once:
- accepted:    the gateway took the message (it delivers, queues and retries on its own)
- failed:      the gateway refused it for good; never retried automatically
- retry_later: certainly NOT sent (gateway unreachable, or a temporary refusal): may be sent again
- unknown:     maybe sent (timeout, connection dropped after the request): never retried automatically
"""

from __future__ import annotations

import dataclasses
import re

from .rate import Pace

ACCEPTED, FAILED, RETRY_LATER, UNKNOWN = "accepted", "failed", "retry_later", "unknown"
STAGES = ("installation", "activation")
# Message ids travel inside Kannel's dlr-url, where '%' starts an escape: keep them plain.
MESSAGE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


@dataclasses.dataclass(frozen=True)
class Message:
    id: str
    to: str
    stage: str
    text: str
    dlr_url: str | None = None  # where delivery reports go (dlr.callback_url adds our id and the status)


@dataclasses.dataclass(frozen=True)
class Outcome:
    status: str
    reason: str  # the gateway's own words, safe to print (never a password)

    @property
    def not_sent(self):
        """True only when the message certainly did not leave: the one case where sending again is safe."""
        return self.status == RETRY_LATER


def check_message(message):
    """A message the engine built wrongly is a programming error, not a gateway outcome."""
    if not MESSAGE_ID.match(message.id or ""):
        raise ValueError("SMS id %r: use 1-64 letters, digits, '.', '_' or '-'" % (message.id,))
    if not E164.match(message.to or ""):
        raise ValueError("SMS %s: %r is not an E.164 number" % (message.id, message.to))
    if message.stage not in STAGES:
        raise ValueError("SMS %s: stage %r is not one of %s" % (message.id, message.stage, ", ".join(STAGES)))
    if not message.text:
        raise ValueError("SMS %s: empty text" % message.id)


class Gateway:
    """Base of every gateway: checks the message, keeps the pace, then `_deliver`s it."""

    def __init__(self, rate=None):
        self._pace = Pace(rate)

    def send(self, message):
        check_message(message)
        self._pace.wait()
        return self._deliver(message)

    def _deliver(self, message):
        raise NotImplementedError

    def describe(self):
        """Where messages go, safe to print."""
        raise NotImplementedError

    def close(self):
        """Release connections; the default gateway holds none."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
