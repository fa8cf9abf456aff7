# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bulk INSERTs on PostgreSQL as COPY FROM STDIN.

An apply on an empty database inserts ~13 rows per account. Sent as one INSERT per row (psycopg2's
execute_batch), PostgreSQL parsed, planned and ran each one: 14.3 s of SQL for 30k accounts; multi-row
INSERTs (execute_values) took 5.9 s, COPY, which streams the rows as text, 3.5 s (measured back to back). The
statement-level triggers (change_counter.py) fire for a COPY as for an INSERT, and it runs in the same
transaction. Only the plain form ``INSERT INTO t (a, b, c) VALUES (?, 'constant', ?)`` is translated;
anything else (a constant this module does not recognise, a clause after VALUES) runs as it is written.
"""

from __future__ import annotations

import io
import re

ROWS_PER_COPY = 5000  # bounds the text held at once (1M accounts insert 2M usr_preferences rows)
_INSERT = re.compile(r"INSERT INTO (\w+) \(([\w, ]+)\) VALUES \((.*)\)\Z", re.S)
_CONSTANT = re.compile(r"'([^'\\]*)'\Z|(-?\d+)\Z|(NULL)\Z")
_SPECIAL = re.compile(r"[\\\t\n\r]")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def copy_form(sql):
    """(COPY statement, line format with one %s per parameter) for a plain INSERT with ``?`` placeholders,
    else None."""
    match = _INSERT.match(sql)
    if not match:
        return None
    columns = [c.strip() for c in match.group(2).split(",")]
    fields = []
    for item in (v.strip() for v in match.group(3).split(",")):
        field = "%s" if item == "?" else _constant(item)
        if field is None:
            return None
        fields.append(field)
    if len(fields) != len(columns):
        return None
    return "COPY %s (%s) FROM STDIN" % (match.group(1), ", ".join(columns)), "\t".join(fields) + "\n"


def _constant(item):
    """A SQL constant as COPY's text format writes it (% doubled for the line format), or None."""
    match = _CONSTANT.match(item)
    if not match:
        return None
    text, number, null = match.groups()
    if null:
        return "\\N"
    return (text if text is not None else number).translate(_ESCAPES).replace("%", "%%")


def _text(value):
    """A parameter as COPY's text format writes it: NULL is \\N, the four special characters escaped."""
    if value is None:
        return "\\N"
    text = value if value.__class__ is str else str(value)
    return text.translate(_ESCAPES) if _SPECIAL.search(text) else text


def copy_rows(cursor, form, rows):
    """The rows as COPY text, a chunk at a time, encoded as the connection's client encoding: bytes, not a
    StringIO, which holds four bytes per character (the write phase was the peak of a 30k-account apply: +63 MiB,
    +24 with bytes of 5000 rows)."""
    from psycopg2.extensions import encodings
    statement, line = form
    encoding = encodings[cursor.connection.encoding]
    for start in range(0, len(rows), ROWS_PER_COPY):
        text = "".join([line % tuple(map(_text, row)) for row in rows[start:start + ROWS_PER_COPY]])
        cursor.copy_expert(statement, io.BytesIO(text.encode(encoding)))
