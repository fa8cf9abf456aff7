# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A run whose inputs are exactly those of the last complete run needs neither to load nor to read.

The inputs of a plan are the state files, the controller's secrets, the options, the code, and the tables
it reads. The first four are hashed into a fingerprint; the tables are vouched for by the change counter
the database keeps with triggers (pbx/change_counter.py), so a write made behind the tool's back — by an
operator, the provisioning service, anything — moves it. A complete run (not check mode, no problem)
records both in sb_meta inside its own transaction; a later run that finds the same fingerprint and the
same counter has nothing to do, and says so. Anything unknown (no record, a trigger missing, a file that
cannot be read, a schema that needs work) means: run in full.

The record also keeps the parts of the fingerprint: the settings (everything but the state files and the
passwords), each state file's parse-cache key and the passwords hashed in buckets of account numbers. With
the counter unmoved and the settings the same, a run whose files or passwords changed needs to read and
plan only the objects that changed in them (incremental_run.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zlib

from .loader import read_state_dir
from .parse_cache import ParseCache, add_sources
from .pbx import change_counter

RECORD = "last_complete_run"
FORMAT = 2
# The modules that turn the inputs into a plan, beyond those the parse cache vouches for.
PLANNING_MODULES = ("plan", "unmanaged", "pbx.store", "pbx.kamailio_rows", "pbx.database", "pbx.migrations",
                    "pbx.change_counter", "unchanged_run", "incremental_run", "pbx.scoped_read")


@dataclasses.dataclass(frozen=True)
class RunInputs:
    """What a plan depends on besides the database, hashed: ``digest`` all of it, ``settings`` all but the state
    files and passwords (code, mode, SIP domain, whole-file-vault texts), ``files`` {state file: its parse-cache
    key}, ``passwords`` {bucket: digest of the passwords of the account numbers in it} (password_bucket)."""

    digest: str
    settings: str
    files: dict
    passwords: dict


PASSWORD_BUCKETS = 4096  # at 100k accounts ~25 a bucket: one changed password re-plans ~25 accounts


def password_bucket(number):
    """The bucket of an account number's password: a hash that stays the same across runs and machines."""
    return "%03x" % (zlib.crc32(number.encode("utf-8")) % PASSWORD_BUCKETS)


def _password_buckets(passwords):
    """{bucket: digest}. A digest covers every password of its bucket, SHA-256 and cut to 64 bits: it tells that a
    password changed, never which one it is (Kamailio's HA1, beside it in the same database, says more)."""
    buckets = {}
    for number, password in passwords.items():
        buckets.setdefault(password_bucket(number), []).append((number, password))
    return {bucket: hashlib.sha256(json.dumps(sorted(pairs)).encode()).hexdigest()[:16] for bucket, pairs in buckets.items()}


def _planning_code(vouching):
    digest = hashlib.sha256(vouching or b"")
    return digest.hexdigest() if vouching is not None and add_sources(digest, PLANNING_MODULES) else None


def fingerprint(options):
    """The RunInputs of this run, or None (then nothing is skipped). A file enters by its parse-cache key (a
    salted SHA-256), passwords only through SHA-256, like every other input: nothing in it can be read back."""
    cache = ParseCache(options.cache_dir)
    code = _planning_code(cache.salt)
    contents, problems = read_state_dir(options.state_dir)
    if code is None or problems:
        return None
    settings = hashlib.sha256(json.dumps([FORMAT, code, options.mode, options.sip_domain]).encode())
    for name, text in sorted(options.decrypted_files.items()):
        settings.update(b"\0decrypted\0%s\0%s" % (name.encode(), hashlib.sha256(text.encode()).hexdigest().encode()))
    files = {name: cache.key(content) for name, content in contents}
    passwords = _password_buckets(options.passwords)
    digest = hashlib.sha256(json.dumps([settings.hexdigest(), sorted(files.items()), sorted(passwords.items())]).encode())
    return RunInputs(digest.hexdigest(), settings.hexdigest(), files, passwords)


def record(db, inputs, at, warnings, unmanaged=()):
    """In the complete run's write transaction, after its writes: what it saw, for the next run to compare.
    The warnings are kept so that a skipped run still tells what the last complete one told; ``unmanaged`` (the
    plan's warnings about Kamailio rows no account owns, which stay in merged mode) among them: an incremental
    run, which reads no such rows, is only vouched for when there were none.
    (A one-object door or the provisioning service writes through the triggers: the record stops vouching.)"""
    counter = change_counter.value(db)
    value = json.dumps({"fingerprint": inputs.digest, "settings": inputs.settings, "files": inputs.files,
                        "passwords": inputs.passwords, "changes": counter, "at": at, "warnings": list(warnings) + list(unmanaged),
                        "unowned_rows": bool(unmanaged)})
    db.execute("DELETE FROM sb_meta WHERE name = ?", (RECORD,))
    db.execute("INSERT INTO sb_meta (name, value) VALUES (?, ?)", (RECORD, value))


def vouched_record(db):
    """The record of the last complete run when the platform is exactly as that run left it (counter unmoved),
    else None."""
    rows = db.query("SELECT value FROM sb_meta WHERE name = ?", (RECORD,))
    if not rows:
        return None
    try:
        recorded = json.loads(rows[0][0])
    except ValueError:
        return None
    counter = change_counter.value(db)
    if counter is None or not isinstance(recorded, dict) or recorded.get("changes") != counter:
        return None
    return recorded


def last_complete_run(db, inputs):
    """The record of the last complete run when it vouches for this one (same inputs, counter unmoved), else None."""
    recorded = vouched_record(db) if inputs is not None else None
    if recorded is None or recorded.get("fingerprint") != inputs.digest:
        return None
    return recorded
