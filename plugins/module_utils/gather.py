# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The actual state back in the declared format (Ansible's ``gathered``): how a platform is adopted into git."""

from __future__ import annotations

import sqlite3
from urllib.parse import quote, urlparse

from . import unmanaged
from .errors import SwitchboardError
from .model import declared_form
from .pbx.database import LOCK_TIMEOUT, database_exists, parse_dsn, transaction
from .pbx.scoped_read import read_referable
from .pbx.store import read_actual
from .state_schema import KINDS


def read(dsn, sip_domain, lock_timeout=LOCK_TIMEOUT):
    """Return (Actual, the SIP domains of the subscriber rows) from a snapshot. Reading never writes, never
    waits for a writer, refuses a database of another SIP domain, a damaged row does not stop it
    (``unreadable``), and it reads only a PBX
    database that exists and is initialised: an empty answer from a mistyped DSN, adopted into git,
    would declare an empty platform. Messages name the database as ``database()`` does: Ansible masks
    the DSN itself (a no_log value) wherever it appears."""
    check_readable(dsn)
    with transaction(dsn, check_mode=True, sip_domain=sip_domain or None, lock_timeout=lock_timeout) as db:
        sip_domain = sip_domain or db.platform_domain()  # a reader that names no domain reads the platform's
        domains = sorted(row[0] for row in db.query("SELECT DISTINCT domain FROM subscriber"))
        return read_actual(db, sip_domain, tolerant=True), domains


def check_readable(dsn):
    """A reader reads only a PBX database that exists and is initialised (see read)."""
    if not database_exists(dsn):
        raise SwitchboardError("the PBX database %s does not exist: there is nothing to read (check the DSN)"
                               % named(dsn))
    if not _initialised(dsn):
        raise SwitchboardError("the PBX database %s has no Switchboard tables: it was never initialised "
                               "(switchboard.pbx.database), or the DSN names another database" % named(dsn))


def _initialised(dsn):
    """Whether the project's tables are there, probed read-only before the read (which would show a database
    without them as an empty platform)."""
    engine, target = parse_dsn(dsn)
    if engine == "sqlite":
        try:
            connection = sqlite3.connect("file:///%s?mode=ro" % quote(target.lstrip("/")), uri=True)
            try:
                return bool(connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'sb_schema'").fetchall())
            finally:
                connection.close()
        except sqlite3.Error as exc:
            raise SwitchboardError("cannot read the PBX database %s: %s" % (named(dsn), exc))
    import psycopg2

    try:
        connection = psycopg2.connect(target, connect_timeout=10)
    except psycopg2.Error as exc:
        raise SwitchboardError("cannot connect to the PBX database %s: %s" % (named(dsn), str(exc).strip()))
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass('sb_schema')")
            return cursor.fetchone()[0] is not None
    finally:
        connection.close()


def database(dsn):
    """Which database was read, without its password (and unlike the no_log DSN, not masked by Ansible)."""
    engine, target = parse_dsn(dsn)
    if engine == "sqlite":
        return {"engine": "sqlite", "path": target}
    url = urlparse(dsn)
    return {"engine": "postgresql", "host": url.hostname, "port": url.port, "database": url.path.lstrip("/") or None,
            "user": url.username}


def named(dsn):
    where = database(dsn)
    if where["engine"] == "sqlite":
        return "file %s" % where["path"]
    return "%r on %s:%s" % (where["database"], where["host"], where["port"])


def referable(dsn):
    """The groups, provisioning profiles and networks on the platform: in merged mode a partial state
    directory may name them (they stay, merged mode deletes nothing)."""
    with transaction(dsn, check_mode=True) as db:
        return read_referable(db)


def as_state(actual, kinds=KINDS, account_filter=None):
    state = {}
    for kind in kinds:
        objects = actual.objects[kind]
        keys = sorted(objects)
        if kind == "accounts" and account_filter is not None:
            keys = [k for k in keys if account_filter(objects[k])]
        state[kind] = [declared_form(objects[k]) for k in keys]
    return state


def account_status(actual, numbers):
    """Per account: its activation status, and whether Kamailio lets it in now. An account whose subscriber
    row is missing (deleted behind the engine's back, or another domain's) cannot register: said so."""
    status = {}
    for number in numbers:
        last_status, date = actual.account_status[number]
        rows = actual.pbx.get(actual.objects["accounts"][number]["username"])
        status[number] = {"last_status": last_status, "last_status_date": date,
                          "enabled": rows is not None and not rows.disabled}
        if rows is None:  # Kamailio refuses it: say why rather than fail
            status[number]["subscriber_row"] = "missing"
    return status


def findings(actual):
    """What the declared format cannot show: Kamailio rows no account owns, project rows that cannot be read."""
    unknown = [{"address": "%s/%s" % (unmanaged.KIND, key), "reasons": unmanaged.reasons(rows),
                "rows": unmanaged.shown(rows)["rows"]} for key, rows in unmanaged.grouped(actual.unknown_rows)]
    unreadable = [{"table": d.table, "key": d.key, "problem": str(d)} for d in actual.unreadable]
    warnings = [str(d) for d in actual.unreadable]
    if unknown:
        warnings.append("%d Kamailio row%s no account owns: see the unmanaged section" % (
            len(actual.unknown_rows), "" if len(actual.unknown_rows) == 1 else "s"))
    return {"unmanaged": unknown, "unreadable": unreadable}, warnings


SHOWN = 10  # accounts named in one warning; the rest are counted


def missing_subscribers(status, sip_domain, domains):
    """One warning for the accounts without a subscriber row, naming the domains the database does hold."""
    missing = sorted(n for n, entry in status.items() if entry.get("subscriber_row") == "missing")
    if not missing:
        return []
    names = ", ".join(missing[:SHOWN]) + (" and %d more" % (len(missing) - SHOWN) if len(missing) > SHOWN else "")
    other = [d for d in domains if d != sip_domain]
    where = " (the database has subscriber rows in %s)" % ", ".join(other) if other else ""
    return ["%d account(s) have no subscriber row in domain %s and cannot register: %s%s"
            % (len(missing), sip_domain, names, where)]
