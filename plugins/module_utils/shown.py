# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How a value from a state file is shown in a message: bounded, and in words rather than Python reprs."""

from __future__ import annotations

import datetime

SHOWN_CHARACTERS = 40


def shown(value):
    """``'AAAA…' (100000 characters)`` for a long text; words for what is not a short text or number."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "an empty value"
    if isinstance(value, str):
        if len(value) > SHOWN_CHARACTERS:
            return "%r (%d characters)" % (value[:SHOWN_CHARACTERS] + "…", len(value))
        return repr(value)
    written = getattr(value, "written", None)  # loader.WrittenInt: 12:30 rather than 750
    if written:
        return written if len(written) <= SHOWN_CHARACTERS else "a number of %d characters" % len(written)
    if isinstance(value, int) and value.bit_length() > 128:  # str() refuses more than 4300 digits
        return "a number of about %d digits" % int(value.bit_length() * 0.30103)
    if isinstance(value, (int, float)):
        text = str(value)
        return text if len(text) <= SHOWN_CHARACTERS else "a number of %d digits" % len(text)
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "the date %s" % value.isoformat()
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, (list, tuple)):
        return "a list" if value else "an empty list"
    if type(value).__name__ == "VaultValue":
        return "an encrypted value"
    return "a %s value" % type(value).__name__
