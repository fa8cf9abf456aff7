# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An incremental run: some state files changed since the last complete run, nothing else did.

The record of the last complete run (unchanged_run) and the change counter vouch that the platform is exactly
what that run left: its declared state, applied. When the settings (code, mode, SIP domain) are also the same,
a complete run's plan against that platform differs from "no change" only for the objects that differ between
the changed files' previous documents (in the parse cache, by the key the record keeps) and their new ones,
and for the accounts whose password may have changed (those in a bucket of passwords whose digest changed:
a new plain account comes with its password, so a changed secret is local too). So the changed files are
parsed (and put in the parse cache, as the load would) and compared object by object with their previous
documents; then the whole state is loaded and validated as usual (the rules across files need all of it; every
file comes from the parse cache), and only the objects that changed and what their plan looks at are read
(pbx/scoped_read.read_objects_scope) and planned; the write and the record are a complete run's, in one
transaction. Deleting an object follows the mode, as in a complete run: overridden deletes what is no
longer declared, merged leaves it.

A changed file whose previous document the parse cache does not have (a fresh CI container, a file with plain-text
passwords) counts every object it declares now as changed, and in overridden mode the platform's objects that
nothing declares now as deleted: the plan compares them with the platform, which is that version applied.

A complete run instead, whenever that cannot be vouched for: no record or a moved counter, other settings, a changed
file with problems (the complete run reports them), Kamailio rows that no account owns left on the platform (only a
full read finds them), a changed group, network list or provisioning profile (accounts inherit from them or are
checked against them; any in a file whose previous document is unknown counts as changed), more changed objects
than reads by key are worth, or a write by anyone between this check and the read (the counter, checked in the
read). What the changed files show is known before the load: the complete run then loads while it reads, as it
always does.
"""

from __future__ import annotations

import copy
import dataclasses
import os

from . import declared as declared_state
from . import gather, model, phase_timings
from .loader import Document, read_regular_file
from .model import KEY_FIELD
from .parse_cache import ParseCache
from .pbx import change_counter, scoped_read
from .pbx.database import Session
from .plan import MERGED, OVERRIDDEN, generate_username
from .report import counted, named
from .state_schema import KINDS
from .unchanged_run import password_bucket, vouched_record

INCREMENTAL = "incremental"
# Other objects inherit from these or are checked against them: a change is not local.
NON_LOCAL_KINDS = ("provisioning_profiles", "networks", "groups")
# Small tables, read and planned whole.
WHOLE_KINDS = NON_LOCAL_KINDS + ("trusted_peers",)
LOCAL_KINDS = tuple(kind for kind in KINDS if kind not in WHOLE_KINDS)
# Beyond this many changed objects (or this share of the state), reads by key and the load before them cost about
# what the complete run's read beside the load does (measured at 100k accounts, SQLite: the read of 10k accounts by
# key 0.36 s, the complete read 1.85 s).
MAX_CHANGED, MAX_SHARE, ALWAYS_ALLOWED = 20000, 0.1, 50


class PlatformMoved(Exception):
    """Someone wrote to the platform after the record was checked: only a complete read sees what."""


@dataclasses.dataclass
class Basis:
    """What the last complete run's record says about this run, before anything is loaded."""

    at: str  # when that run committed
    counter: int  # the change counter it left
    files: list  # the state files that differ from its (edited, added, removed)
    password_buckets: set  # the buckets of account numbers whose passwords differ from its
    changed: dict  # kind -> {keys of the objects that differ in those files}
    previous: dict  # kind -> {key: object as written then} in those files whose earlier version is known
    unknown: list  # those files whose earlier version the parse cache does not have (a fresh CI container)


def run(options, inputs, reconcile):
    """The result of an incremental run, or of a complete one with the state loaded here when a change found once
    it is loaded is not local (passwords: see _scope); None when no record vouches for an incremental run or the
    changed files show changes that are not local (then nothing was loaded: the engine's complete run loads while
    it reads). ``inputs``: this run's unchanged_run.RunInputs; ``reconcile``: engine.reconcile."""
    with phase_timings.phase("incremental-run check"):
        record = _record(options, inputs)
    basis = None if record is None else _basis(options, inputs, record)
    if basis is None:
        return None
    known = gather.referable(options.dsn) if options.mode == MERGED else None
    declared, verdict = declared_state.load_checked_meanwhile(  # checked while the scope is found and planned
        options.state_dir, options.cache_dir, options.passwords, options.decrypted_files, options.secrets_file, known,
        options.progress)
    with verdict:
        scope = verdict.invalid_first(_scope, options, basis, declared, verdict)
        if scope is not None:
            try:
                return _told(reconcile(options, scope.declared, select=scope.selects, read=scope.read,
                                       run_fingerprint=inputs), basis, scope)
            except PlatformMoved:
                pass  # read in full below, with the state already loaded
        return reconcile(options, lambda: (declared, verdict), run_fingerprint=inputs)


def _record(options, inputs):
    """The last complete run's record when it vouches for the platform and for this run's settings, else None."""
    if inputs is None:
        return None
    with Session(options.dsn, options.sip_domain, True, options.lock_timeout) as pbx:
        with pbx.reading() as db:
            record = None if pbx.read_needed_schema_work else vouched_record(db)
    if record is None or record.get("settings") != inputs.settings or record.get("unowned_rows") is not False:
        return None
    return record


def _basis(options, inputs, record):
    """What changed in the files and passwords since the recorded run, or None when a complete run is needed:
    a changed file with problems, a change that is not local (or may be), too many changes.

    A changed file whose earlier version the parse cache does not have (a CI container starts without one) counts
    all its objects as changed: the plan compares each with the platform, which is that version applied. Objects
    it no longer declares are found on the platform once the state is loaded (_scope), in overridden mode only:
    merged mode leaves them as they are."""
    with phase_timings.phase("incremental-run check"):
        before, cache = record["files"], ParseCache(options.cache_dir)
        files = sorted(name for name in set(before) | set(inputs.files) if before.get(name) != inputs.files.get(name))
        earlier = {name: cache.get(before[name]) for name in files if name in before}  # data, None when not cached
        unknown = sorted(name for name, data in earlier.items() if data is None)
    current = {name: _current(options, cache, name, inputs.files[name]) for name in files if name in inputs.files}
    if None in current.values():
        return None
    with phase_timings.phase("finding the changed objects"):
        previous = objects_by_key([Document(name, data) for name, data in earlier.items() if data is not None])
        changed = changed_objects(previous, objects_by_key([current[name] for name in current if name not in unknown]))
        for kind, objects in objects_by_key([current[name] for name in unknown if name in current]).items():
            changed[kind] |= set(objects)
        if any(changed[kind] for kind in NON_LOCAL_KINDS) or sum(len(keys) for keys in changed.values()) > MAX_CHANGED:
            return None
        passwords = record["passwords"]
        buckets = {bucket for bucket in set(passwords) | set(inputs.passwords)
                   if passwords.get(bucket) != inputs.passwords.get(bucket)}
    return Basis(record["at"], record["changes"], files, buckets, changed, previous, unknown)


def _current(options, cache, name, key):
    """The new Document of a changed file: from the parse cache, or parsed here and put there, as the load would,
    for the load to find; None when it has problems (the complete run reports them) or is a whole-file vault."""
    data = cache.get(key)
    if data is not None:
        return Document(name, data)
    content, problem = read_regular_file(os.path.join(options.state_dir, name))
    if problem or name in options.decrypted_files or cache.key(content) != key:  # or it changed meanwhile
        return None
    with phase_timings.phase("parse and per-file validation"):
        document, structural, own = declared_state.check_file(cache, (name, content))  # cached for the load
    if document is None or structural or own:
        return None
    return document


def objects_by_key(documents):
    """kind -> {key: the object as written} in ``documents``."""
    found = {kind: {} for kind in KINDS}
    for document in documents:
        for kind in KINDS:
            for raw in (document.data or {}).get(kind) or []:  # an empty file is None
                found[kind][raw[KEY_FIELD[kind]]] = raw
    return found


def changed_objects(previous, current):
    """kind -> {keys of the objects added, removed or edited}, compared as written (a password or allow_replace
    counts). An object moved between two changed files is unchanged."""
    return {kind: {key for key in previous[kind].keys() | current[kind].keys()
                   if previous[kind].get(key) != current[kind].get(key)} for kind in KINDS}


def _scope(options, basis, declared, verdict):
    """The Scope of this run, or None when a complete run is needed: with the accounts of the changed password
    buckets (only the loaded state says which accounts they hold) and, when a changed file's earlier version is
    unknown in overridden mode, the objects on the platform that nothing declares now (the last run, overridden
    too, left none but what it declared: these are what that file no longer declares); or None beyond the share
    of the state worth it."""
    changed = dict(basis.changed)
    if basis.password_buckets:
        changed["accounts"] = changed["accounts"] | {number for number in declared.objects("accounts")
                                                     if password_bucket(number) in basis.password_buckets}
    if basis.unknown and options.mode == OVERRIDDEN:
        with Session(options.dsn, options.sip_domain, True, options.lock_timeout) as pbx:
            with pbx.reading() as db:
                for kind in LOCAL_KINDS:
                    changed[kind] = changed[kind] | (scoped_read.object_keys(db, kind) - set(declared.objects(kind)))
    count = sum(len(keys) for keys in changed.values())
    total = sum(len(entries) for entries in declared.entries.values())
    if count > min(MAX_CHANGED, max(ALWAYS_ALLOWED, MAX_SHARE * total)):
        return None
    return Scope(declared, verdict, changed, basis.previous, basis.counter)


class Scope:
    """The engine's hooks for one incremental run (reconcile calls read, then declared, then selects)."""

    def __init__(self, declared, verdict, changed, previous, counter):
        self.whole, self.verdict, self.changed, self.previous, self.counter = declared, verdict, changed, previous, counter
        self.actual = self.planned = None

    @property
    def count(self):
        return sum(len(keys) for keys in self.changed.values())

    def read(self, db, domain):
        """The objects that changed and what their plan looks at. Called again under the write lock when anyone
        committed since: the counter unmoved, every table it counts holds the same rows."""
        if change_counter.value(db) != self.counter:
            raise PlatformMoved()
        if self.actual is None:
            self.actual = scoped_read.read_objects_scope(db, domain, self._versions("accounts"), self.changed["numbers"],
                                                         self._versions("devices"))
            self.planned = self._planned(db)
        return self.actual

    def _versions(self, kind):
        """{key: [the object as it was written, as it is declared now]} of the changed objects of ``kind``."""
        declared = self.whole.objects(kind)
        return {key: [self.previous[kind].get(key), declared.get(key)] for key in self.changed[kind]}

    def _planned(self, db):
        """The declared state as the plan sees it: the small kinds whole; of the others, the changed objects and
        those read (one read but left out would look undeclared: staying in merged mode, deleted in overridden
        mode), in the declared order."""
        entries = {}
        for kind in KINDS:
            wanted = set(self.actual.objects[kind]) | self.changed[kind]
            entries[kind] = list(self.whole.entries[kind]) if kind in WHOLE_KINDS else \
                [entry for entry in self.whole.entries[kind] if entry.key in wanted]
        entries["accounts"] = self._named(db, entries["accounts"])
        return model.Declared(entries, self.whole.drift_ignore)

    def _named(self, db, entries):
        """A new account without a username gets one here, free in the whole declared state and on the whole
        platform: the plan would choose it among the objects read only."""
        unnamed = [i for i, entry in enumerate(entries)
                   if entry.obj["username"] is None and entry.key not in self.actual.objects["accounts"]]
        if not unnamed:
            return entries
        taken = {entry.obj["username"] for entry in self.whole.entries["accounts"]}
        chosen = []
        while len(chosen) < len(unnamed):
            candidates = {generate_username(taken) for _attempt in range(len(unnamed) - len(chosen))}
            chosen.extend(sorted(candidates - scoped_read.usernames_taken(db, candidates)))
            taken |= candidates
        entries = list(entries)
        for i, username in zip(unnamed, chosen):
            entry = copy.copy(entries[i])  # the Entry with its generated username; the declared one stays as it was
            entry.obj = dict(entry.obj, username=username)
            entries[i] = entry
        return entries

    def declared(self):
        return self.planned, self.verdict

    def selects(self, change):
        return change.kind in WHOLE_KINDS or change.key in self.changed.get(change.kind, ())


def _told(result, basis, scope):
    result["run"] = INCREMENTAL
    result["summary_text"].insert(1, "incremental run: read and planned only what changed in %s since the run of %s "
                                     "UTC (%s, and what they touch%s); the rest of the platform is as that run left it"
                                  % (named(basis.files + (["the passwords"] if basis.password_buckets else [])), basis.at,
                                     counted(scope.count, "object"), _unknown_told(basis.unknown)))
    return result


def _unknown_told(unknown):
    if not unknown:
        return ""
    return "; every object of %s, whose earlier version the parse cache does not have" % named(unknown)
