# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bulk INSERT into a table this very transaction created builds the table's plain indexes, and on PostgreSQL
checks its foreign keys, once for all its rows afterwards instead of row by row.

The apply that builds a platform creates the schema and fills it in one transaction. Kamailio's tables carry two
or three plain indexes each; kept up to date row by row they cost a third to a half of the insert on PostgreSQL
(100k dbaliases rows: 14 us a row, 10 with the indexes built afterwards; measured), and a foreign key checked
per row (a trigger locking the parent row) a third of sb_accounts' (25 us a row, 16 without). Added back, the
foreign key checks every row in one query, with the same message for a row that breaks it. Only a table
created in the same transaction qualifies: nobody else can see it before the commit, so nothing waits on its
locks or queries it without its index. Unique indexes stay: they are what refuses a duplicate row, with the
message the run reports. A failure puts everything back before the error goes on."""

from __future__ import annotations

import contextlib
import re

BULK_ROWS = 1000  # from this many rows
_INSERT = re.compile(r"\s*INSERT INTO\s+(\w+)\s", re.IGNORECASE)


@contextlib.contextmanager
def built_after(db, sql, rows):
    """Around a statement run for ``rows`` parameter sets."""
    rebuild = _set_aside(db, sql, rows)
    try:
        yield
    except BaseException:
        with contextlib.suppress(Exception):  # the statement's own error is the story
            _build(db, rebuild)
        raise
    _build(db, rebuild)


def _set_aside(db, sql, rows):
    """Drops the plain indexes (and foreign keys) of the new table a bulk INSERT fills; returns the SQL that
    makes them again."""
    match = _INSERT.match(sql)
    if rows < BULK_ROWS or not match or match.group(1).lower() not in db.new_tables:
        return []
    table = match.group(1)
    if db.engine == "postgres":
        indexes = db.query("SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c "
                           "ON c.oid = i.indexrelid WHERE i.indrelid = ?::regclass AND NOT i.indisunique", (table,))
        keys = db.query("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = ?::regclass "
                        "AND contype = 'f' ORDER BY conname", (table,))
    else:
        indexes = db.query("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                           "AND sql IS NOT NULL AND sql NOT LIKE 'CREATE UNIQUE%'", (table,))
        keys = []  # SQLite's foreign keys are part of the table
    for name, _sql in indexes:
        db.execute("DROP INDEX %s" % name)
    for name, _definition in keys:
        db.execute("ALTER TABLE %s DROP CONSTRAINT %s" % (table, name))
    return [index_sql for _name, index_sql in indexes] + [
        "ALTER TABLE %s ADD CONSTRAINT %s %s" % (table, name, definition) for name, definition in keys]


def _build(db, statements):
    for statement in statements:
        db.execute(statement)
