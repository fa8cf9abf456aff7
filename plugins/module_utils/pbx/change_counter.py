# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A counter of writes to every table a plan reads, kept by the database itself (triggers).

Whoever writes (this tool, the provisioning service, Kamailio's tools, an operator with psql), the counter
moves in the same transaction: a run that finds it where the last run left it knows that nothing it would
read has changed, without reading it (unchanged_run.py). The counter lives in sb_meta (name 'changes');
a missing row or a missing trigger means "unknown", never "unchanged".

SQLite has row triggers only: a bulk statement of a write transaction (counted_once) sets its table's trigger
aside while it runs and moves the counter once itself (an apply at 30k accounts fired ~400k row triggers: ~30%
of its SQL time). PostgreSQL counts once per transaction: every later statement of it finds the
transaction-local flag set. Counting each statement made a 10k-account apply update the counter row ~100k
times in one transaction, and each update walks the row's growing chain of versions (quadratic: 63 s of
its 73 s; a 1M-account apply would never end)."""

from __future__ import annotations

import contextlib
import re

COUNTER = "changes"
# Every table store.read_actual reads: the plan depends on nothing else in the database.
TRACKED_TABLES = ("sb_provisioning_profiles", "sb_networks", "sb_groups", "sb_numbers", "sb_accounts",
                  "sb_account_numbers", "sb_devices", "sb_channels", "sb_trusted_peers",
                  "subscriber", "dbaliases", "grp", "usr_preferences", "address")
SQLITE_EVENTS = ("insert", "update", "delete")
SQLITE_BULK_ROWS = 1000  # from this many rows a statement is counted once (below, two DDL cost more than they save)
_STATEMENT = re.compile(r"\s*(INSERT INTO|UPDATE|DELETE FROM)\s+(\w+)\s", re.IGNORECASE)
_COUNT_ONCE = "UPDATE sb_meta SET value = CAST(value AS INTEGER) + 1 WHERE name = 'changes'"

PG_COUNTED_FLAG = "switchboard.counted"  # set for the rest of the transaction (set_config's is_local)
PG_FUNCTION = """CREATE OR REPLACE FUNCTION sb_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('%s', true) IS DISTINCT FROM 'on' THEN
        UPDATE sb_meta SET value = (value::bigint + 1)::text WHERE name = 'changes';
        PERFORM set_config('%s', 'on', true);
    END IF;
    RETURN NULL;
END $$""" % (PG_COUNTED_FLAG, PG_COUNTED_FLAG)


def trigger_names():
    return {_sqlite_trigger_name(table, event) for table in TRACKED_TABLES for event in SQLITE_EVENTS}


def _sqlite_trigger_name(table, event):
    return "sb_changes_%s_%s" % (table, event)


def _pg_trigger_name(table):
    return "sb_changes_%s" % table


def _present(db):
    if db.engine == "postgres":
        rows = db.query("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgenabled <> 'D' "
                        "AND tgrelid IN (SELECT oid FROM pg_class WHERE pg_table_is_visible(oid))")
        return {row[0] for row in rows} & {_pg_trigger_name(t) for t in TRACKED_TABLES}
    return {row[0] for row in db.query("SELECT name FROM sqlite_master WHERE type = 'trigger'")} & trigger_names()


def complete(db):
    """Whether every trigger is in place (a table dropped and recreated loses its own)."""
    expected = {_pg_trigger_name(t) for t in TRACKED_TABLES} if db.engine == "postgres" else trigger_names()
    return _present(db) == expected


def ensure(db):
    """Inside a write transaction: the counter row and every trigger, creating only what is missing."""
    if not db.query("SELECT 1 FROM sb_meta WHERE name = ?", (COUNTER,)):
        db.execute("INSERT INTO sb_meta (name, value) VALUES (?, '0')", (COUNTER,))
    present = _present(db)
    if db.engine == "postgres":
        missing = [t for t in TRACKED_TABLES if _pg_trigger_name(t) not in present]
        if missing or not _pg_function_current(db):
            db.execute(PG_FUNCTION)
        for table in missing:
            db.execute("CREATE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s "
                       "FOR EACH STATEMENT EXECUTE FUNCTION sb_count_change()" % (_pg_trigger_name(table), table))
        return
    for table in TRACKED_TABLES:
        for event in SQLITE_EVENTS:
            name = _sqlite_trigger_name(table, event)
            if name not in present:
                db.execute("CREATE TRIGGER %s AFTER %s ON %s BEGIN %s; END" % (name, event.upper(), table, _COUNT_ONCE))


@contextlib.contextmanager
def counted_once(db, sql, rows):
    """Around a SQLite statement run for ``rows`` parameter sets: when it is a bulk write to a tracked table inside
    a transaction, its row trigger is set aside while it runs and the counter moved once instead of once per row.
    No write goes uncounted: from its first write the transaction holds SQLite's only write lock, so nobody else
    writes while the trigger is away; it comes back in the same transaction (a rollback restores it as well),
    and were it ever lost the counter would read as unknown, never as unchanged."""
    trigger = _set_aside(db, sql, rows)
    try:
        yield
    except BaseException:
        if trigger:  # the rows before the failing one stay written, unless the caller rolls back
            with contextlib.suppress(Exception):  # the statement's own error is the story
                _put_back(db, trigger)
        raise
    if trigger:
        _put_back(db, trigger)


def _put_back(db, trigger):
    db.execute(trigger)
    db.execute(_COUNT_ONCE)


def _set_aside(db, sql, rows):
    """Drops the statement's trigger and returns the SQL that creates it again, or None (left as it is)."""
    match = _STATEMENT.match(sql)
    if rows < SQLITE_BULK_ROWS or not match or not db.connection.in_transaction:
        return None
    table, event = match.group(2).lower(), match.group(1).split()[0].lower()
    if table not in TRACKED_TABLES:
        return None
    name = _sqlite_trigger_name(table, event)
    found = db.query("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (name,))
    if not found:
        return None  # not kept (a dropped trigger): the counter is unknown until a complete run makes it again
    db.execute("DROP TRIGGER %s" % name)
    return found[0][0]


def _pg_function_current(db):
    """A database made before the once-per-transaction count still has the per-statement function."""
    rows = db.query("SELECT prosrc FROM pg_proc WHERE proname = 'sb_count_change'")
    return bool(rows) and PG_COUNTED_FLAG in rows[0][0]


def hold(db):
    """In a write transaction, before anything is read for writing: on PostgreSQL a writer that commits after
    this waits for this run's commit, so the value read at the end is exactly this run's platform."""
    if db.engine == "postgres":
        db.query("SELECT value FROM sb_meta WHERE name = ? FOR UPDATE", (COUNTER,))


def value(db):
    """The counter, or None when it is not kept (no row, or a trigger missing)."""
    rows = db.query("SELECT value FROM sb_meta WHERE name = ?", (COUNTER,))
    if not rows or not complete(db):
        return None
    return int(rows[0][0])
