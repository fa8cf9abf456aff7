# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kannel delivery reports: the dlr-url we give Kannel, and what its %d status means for our message.

Kannel calls dlr-url once per report, replacing %d with one bit of the dlr-mask we asked for
(gw/dlr.h): 1 delivered to the phone, 2 not delivered, 4 buffered at the SMSC, 8 accepted by the SMSC,
16 refused by the SMSC. 4 and 8 are on the way: the message stays accepted.
"""

from __future__ import annotations

from urllib.parse import urlencode

DLR_MASK = 31  # 1 | 2 | 4 | 8 | 16: every report Kannel can send for a message
DELIVERED, FAILED, ACCEPTED = "delivered", "failed", "accepted"
EVENTS = {1: DELIVERED, 2: FAILED, 4: ACCEPTED, 8: ACCEPTED, 16: FAILED}


def callback_url(base_url, message_id):
    """`base_url?id=<message id>&status=%d`: Kannel fills in %d, we find the message by its id."""
    separator = "&" if "?" in base_url else "?"
    return "%s%s%s&status=%%d" % (base_url, separator, urlencode({"id": message_id}))


def event(status):
    """Kannel's %d (int or the string from the query) -> delivered | failed | accepted."""
    try:
        return EVENTS[int(status)]
    except (KeyError, TypeError, ValueError):
        raise ValueError("DLR status %r is not one of Kannel's %s" % (status, ", ".join(str(bit) for bit in EVENTS))) from None
