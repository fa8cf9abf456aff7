# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bulk INSERT into a table this very transaction created builds the table's plain indexes once, afterwards.

The apply that builds a platform creates the schema and fills it in one transaction. Kamailio's tables carry two
or three plain indexes each; kept up to date row by row they cost a third to a half of the insert on PostgreSQL
(100k dbaliases rows: 14 us a row, 10 with the indexes built afterwards; measured). Only a table created in the
same transaction qualifies: nobody else can see it before the commit, so nothing waits on the index's lock or
queries the table without it. Unique indexes stay: they are what refuses a duplicate row, with the message the
run reports. A failure puts the indexes back before the error goes on (the transaction is then rolled back)."""

from __future__ import annotations

import contextlib
import re

BULK_ROWS = 1000  # from this many rows
_INSERT = re.compile(r"\s*INSERT INTO\s+(\w+)\s", re.IGNORECASE)


@contextlib.contextmanager
def built_after(db, sql, rows):
    """Around a statement run for ``rows`` parameter sets."""
    indexes = _set_aside(db, sql, rows)
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # the statement's own error is the story
            _build(db, indexes)
        raise
    _build(db, indexes)


def _set_aside(db, sql, rows):
    """Drops the plain indexes of the new table a bulk INSERT fills; returns the SQL that creates them."""
    match = _INSERT.match(sql)
    if rows < BULK_ROWS or not match or match.group(1).lower() not in db.new_tables:
        return []
    if db.engine == "postgres":
        found = db.query("SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i "
                         "JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = ?::regclass AND NOT i.indisunique",
                         (match.group(1),))
    else:
        found = db.query("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                         "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'", (match.group(1),))
    for name, _sql in found:
        db.execute("DROP INDEX %s" % name)
    return [index_sql for _name, index_sql in found]


def _build(db, indexes):
    for index_sql in indexes:
        db.execute(index_sql)
