# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The actual state back in the declared format (Ansible's ``gathered``): how a platform is adopted into git."""

from __future__ import annotations

from .model import declared_form
from .pbx.database import LOCK_TIMEOUT, transaction
from .pbx.store import read_actual
from .state_schema import KINDS


def read(dsn, sip_domain, lock_timeout=LOCK_TIMEOUT):
    """Return the Actual state from a snapshot: reading never writes and never waits for a writer
    (a missing SQLite file reads as empty); a database of another SIP domain is refused."""
    with transaction(dsn, check_mode=True, sip_domain=sip_domain, lock_timeout=lock_timeout) as db:
        return read_actual(db, sip_domain)


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
    return {n: {"last_status": actual.account_status[n][0], "last_status_date": actual.account_status[n][1],
                "enabled": not actual.pbx[actual.objects["accounts"][n]["username"]].disabled}
            for n in numbers}
