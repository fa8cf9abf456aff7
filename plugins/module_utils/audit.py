# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The audit trail: one sb_applies row per apply, written in the apply's own transaction (a rolled-back apply
leaves none), read back by platform_info and ``switchboard history``.

Every apply that took the write lock is recorded, no-op applies too (``change_count`` 0): an auditor wants every
run that could have written, and a no-op apply proves the platform matched that commit of the state at that time.
Check mode runs the same INSERT and rolls it back with everything else. Nothing secret is stored: who (the login
and host, and the Ansible controller's when run through a playbook), the door, the state's git commit, the plan
file's sha256 (the plan holds no secret; ``sha256sum`` of the file gives the same), the mode and the counts."""

from __future__ import annotations

import hashlib
import json

from . import gather, provenance, report
from .errors import SwitchboardError
from .pbx.database import transaction

COLUMNS = ("id", "at", "operator", "controller_user", "door", "mode", "state_dir", "state_commit", "state_dirty",
           "plan_sha256", "plan_file", "change_count", "summary")
DEFAULT_LIMIT = 20  # applies listed when no limit is given


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def record(db, options, at, plan_file, counts):
    """One INSERT into the apply's transaction: nothing per object, whatever the size of the plan."""
    state = provenance.state_provenance(options.state_dir)
    git = state["git"] or {}
    db.execute("INSERT INTO sb_applies (at, operator, controller_user, door, mode, state_dir, state_commit, "
               "state_dirty, plan_sha256, plan_file, change_count, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
               (at, provenance.operator(), options.controller_user, options.door, options.mode, state["dir"],
                git.get("commit"), None if not git else int(git["dirty"]), file_sha256(plan_file), plan_file,
                sum(sum(actions.values()) for actions in counts.values()), json.dumps(counts, sort_keys=True)))


def applies(dsn, sip_domain, limit=None):
    """The recorded applies, newest first, at most ``limit`` (DEFAULT_LIMIT when None, all when 0).
    Reads like platform_info: a database that does not exist or was never initialised is an error."""
    limit = DEFAULT_LIMIT if limit is None else limit
    if limit < 0:
        raise SwitchboardError("the number of applies to list must be 0 (all) or more, not %d" % limit)
    gather.check_readable(dsn)
    with transaction(dsn, check_mode=True, sip_domain=sip_domain or None) as db:
        rows = db.query("SELECT %s FROM sb_applies ORDER BY id DESC%s"
                        % (", ".join(COLUMNS), " LIMIT %d" % limit if limit > 0 else ""))
    return [entry(dict(zip(COLUMNS, row))) for row in rows]


def entry(row):
    """A row as platform_info returns it: the counts as a dict and as report.summary_sentence's sentence."""
    counts = json.loads(row.pop("summary"))
    dirty = row.pop("state_dirty")
    row.update(state_dirty=None if dirty is None else bool(dirty), summary=counts,
               message=report.summary_sentence(counts, check_mode=False))
    return row


def line(applied):
    """One line of ``switchboard history``: when, who, door, commit, what it did."""
    who = applied["operator"]
    if applied["controller_user"] and applied["controller_user"] != who:
        who += " (Ansible controller %s)" % applied["controller_user"]
    if applied["state_commit"]:
        state = "commit %s%s" % (applied["state_commit"][:12], " with local edits" if applied["state_dirty"] else "")
    else:
        state = "state not in git"
    return "%s UTC  %s  %s (%s)  %s  %s" % (applied["at"], who, applied["door"], applied["mode"], state,
                                            applied["message"])
