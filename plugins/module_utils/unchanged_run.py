# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run whose inputs are exactly those of the last complete run needs neither to load nor to read.

The inputs of a plan are the state files, the controller's secrets, the options, the code, and the tables
it reads. The first four are hashed into a fingerprint; the tables are vouched for by the change counter
the database keeps with triggers (pbx/change_counter.py), so a write made behind the tool's back — by an
operator, the provisioning service, anything — moves it. A complete run (not check mode, no problem)
records both in sb_meta inside its own transaction; a later run that finds the same fingerprint and the
same counter has nothing to do, and says so. Anything unknown (no record, a trigger missing, a file that
cannot be read, a schema that needs work) means: run in full."""

from __future__ import annotations

import hashlib
import json

from .loader import read_state_dir
from .parse_cache import add_sources, code_fingerprint
from .pbx import change_counter

RECORD = "last_complete_run"
FORMAT = 1
# The modules that turn the inputs into a plan, beyond those the parse cache vouches for.
PLANNING_MODULES = ("plan", "unmanaged", "pbx.store", "pbx.kamailio_rows", "pbx.database", "pbx.migrations",
                    "pbx.change_counter", "unchanged_run")


def _planning_code():
    vouching = code_fingerprint()
    digest = hashlib.sha256(vouching or b"")
    return digest.hexdigest() if vouching is not None and add_sources(digest, PLANNING_MODULES) else None


def fingerprint(options):
    """The hash of everything a plan depends on besides the database, or None (then nothing is skipped).
    Passwords enter only through SHA-256, like every other input: nothing in it can be read back."""
    code = _planning_code()
    contents, problems = read_state_dir(options.state_dir)
    if code is None or problems:
        return None
    digest = hashlib.sha256(json.dumps([FORMAT, code, options.mode, options.sip_domain]).encode())
    for name, content in contents:
        digest.update(b"\0file\0%s\0%d\0" % (name.encode(), len(content)) + content)
    for name, text in sorted(options.decrypted_files.items()):
        digest.update(b"\0decrypted\0%s\0%s" % (name.encode(), hashlib.sha256(text.encode()).hexdigest().encode()))
    digest.update(b"\0passwords\0" + hashlib.sha256(json.dumps(options.passwords, sort_keys=True).encode()).hexdigest().encode())
    return digest.hexdigest()


def record(db, run_fingerprint, at, warnings):
    """In the complete run's write transaction, after its writes: what it saw, for the next run to compare.
    The warnings are kept so that a skipped run still tells what the last complete one told.
    (A one-object door or the provisioning service writes through the triggers: the record stops vouching.)"""
    counter = change_counter.value(db)
    value = json.dumps({"fingerprint": run_fingerprint, "changes": counter, "at": at, "warnings": list(warnings)})
    db.execute("DELETE FROM sb_meta WHERE name = ?", (RECORD,))
    db.execute("INSERT INTO sb_meta (name, value) VALUES (?, ?)", (RECORD, value))


def last_complete_run(db, run_fingerprint):
    """The record of the last complete run when it vouches for this one (same inputs, counter unmoved), else None."""
    if run_fingerprint is None:
        return None
    rows = db.query("SELECT value FROM sb_meta WHERE name = ?", (RECORD,))
    if not rows:
        return None
    try:
        recorded = json.loads(rows[0][0])
    except ValueError:
        return None
    counter = change_counter.value(db)
    if counter is None or recorded.get("fingerprint") != run_fingerprint or recorded.get("changes") != counter:
        return None
    return recorded
