# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The actual state back in the declared format (Ansible's ``gathered``): how a platform is adopted into git."""

from __future__ import annotations

from . import unmanaged
from .model import declared_form
from .pbx.database import transaction
from .pbx.store import read_actual
from .state_schema import KINDS


def read(dsn, sip_domain):
    """Return the Actual state; reading never writes (a missing SQLite file reads as empty) and a damaged
    row does not stop it (``unreadable``)."""
    with transaction(dsn, check_mode=True) as db:
        return read_actual(db, sip_domain, tolerant=True)


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
    status = {}
    for number in numbers:
        rows = actual.pbx.get(actual.objects["accounts"][number]["username"])
        status[number] = {"last_status": actual.account_status[number][0],
                          "last_status_date": actual.account_status[number][1],
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
