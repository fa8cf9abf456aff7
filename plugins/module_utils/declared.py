# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load and validate the declared state: files -> documents -> schema -> rules -> model.

Every problem is collected and raised at once. Files are parsed in parallel when there is
much to parse, and files unchanged since a run that accepted them come from the parse cache.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor

from . import model, phase_timings, rules
from .child_process import die_with_parent
from .collector import paused
from .errors import InvalidState, Problem
from .loader import Document, is_vault_encrypted, parse, parse_bytes, plain_ints, read_state_dir, seal_passwords
from .parse_cache import ParseCache
from .progress import LOADING, tick
from .schema_check import schema_problems
from .shown import shown

NO_STATE_FILES = "the state directory %s has no *.yml or *.yaml files: nothing is declared"
PARALLEL_FROM_BYTES = 4 * 1024 * 1024  # below this, starting processes costs more than it saves


def check_file(cache, item):
    """(file, bytes) -> (Document or None, structural problems, the file's own rule problems); a file without
    problems goes into the parse cache ``cache``, with its model part."""
    document, structural, own, _portable = _checked_and_kept(cache, item)
    return document, structural, own


def check_into_cache(cache, item):
    """What a load's file checker does with (file, bytes): check_file, but it returns the file's model part as
    model.portable makes it (or None) instead of its document. The run that loads merges the parts: the document
    would only be normalized there again (~0.5 s at 100k accounts), and the portable form crosses the process
    boundary in half the time of the Entry objects."""
    _document, structural, own, portable = _checked_and_kept(cache, item)
    return portable, structural, own


def _checked_and_kept(cache, item):
    file, content = item
    document, structural, own, part = _check_document(*parse_bytes(content, file))
    portable = None if part is None else model.portable(part)
    if portable is not None and not own:
        cache.put(cache.key(content), document.data, portable)
    return document, structural, own, portable


def check_decrypted_file(file, text):
    """A whole-file-vault state file the controller decrypted: its passwords are sealed like !vault values. Returns
    what check_into_cache does; it is never cached."""
    document, problems = parse(text, file)
    if document is not None:
        seal_passwords(document.data)
    _document, structural, own, part = _check_document(document, problems)
    return None if part is None else model.portable(part), structural, own


def _check_document(document, problems):
    """(document, structural problems, own rule problems, model.file_part): the part only without structural ones."""
    if document is None:
        return None, problems, [], None
    problems = schema_problems(document)
    if problems:
        return document, problems, [], None
    if document.surprising:
        document = Document(document.file, plain_ints(document.data))
    part = model.file_part(document)
    return document, [], rules.local_problems(part), part


def _counted(results, progress, done, total):
    """The checked files, told to ``progress`` one file at a time as they come (``done`` came from the cache)."""
    tick(progress, LOADING, done, total)
    checked = []
    for result in results:
        checked.append(result)
        tick(progress, LOADING, done + len(checked), total)
    return checked


@paused()  # the documents and the model live on (collector.py); the forked file checkers inherit the pause
def load(state_dir, cache_dir=None, passwords=None, decrypted_files=None, secrets_file=None, known=None, progress=None):
    """Return (Declared, warnings) or raise InvalidState with every problem at once.

    ``passwords`` (number -> password, from the controller) and ``secrets_file`` are checked against the
    declared accounts; ``decrypted_files`` (file -> text) are the whole-file-vault state files the controller
    decrypted. They are never cached: the operator chose to keep them encrypted at rest. ``known``: the
    platform's objects that references may name besides the declared ones (merged mode; see rules.check)."""
    with Loading(state_dir, cache_dir, passwords, decrypted_files, secrets_file, known, progress) as loading:
        return loading.finish()


class Loading:
    """A load in two halves: the files the parse cache does not have are checked from the start, in worker
    processes when there is much to parse (or ``meanwhile``); ``finish()`` merges their files' model parts and
    validates across files in this process. engine.loading_meanwhile reads the platform between the two, so the
    model is merged where it is planned: handed over whole from a loader process it was pickled and unpickled,
    ~2.5 s at 100k accounts and ~30 s at 1M."""

    def __init__(self, state_dir, cache_dir=None, passwords=None, decrypted_files=None, secrets_file=None, known=None,
                 progress=None, meanwhile=False):
        self.state_dir, self.passwords, self.secrets_file, self.known = state_dir, passwords, secrets_file, known
        self.decrypted_files, self.progress, self.meanwhile = decrypted_files or {}, progress, meanwhile
        self.contents, self.problems = read_state_dir(state_dir)
        self.cache = ParseCache(cache_dir)
        self.cached, self.checked, self.missing = {}, {}, []
        for file, content in self.contents:
            if file in self.decrypted_files and is_vault_encrypted(content):
                self.checked[file] = check_decrypted_file(file, self.decrypted_files[file])
                continue
            data = self.cache.get_part(self.cache.key(content))
            if data is None:
                self.missing.append((file, content))
            else:
                self.cached[file] = model.restored(file, data)
        self._pool = self._results = None
        workers = min(os.cpu_count() or 1, len(self.missing))
        much = sum(len(content) for _file, content in self.missing) >= PARALLEL_FROM_BYTES
        if workers and (meanwhile or (much and workers >= 2)):
            self._started = time.monotonic()
            self._pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                                             initializer=die_with_parent, initargs=(os.getpid(),))
            # submitted now: checked while the caller reads
            self._results = self._pool.map(functools.partial(check_into_cache, self.cache), self.missing)

    def __enter__(self):
        return self

    def __exit__(self, *failed):
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)

    def _checked_files(self):
        done, total = len(self.cached), len(self.contents)
        if self._results is None:
            with phase_timings.phase("parse and per-file validation"):
                return _counted(map(functools.partial(check_into_cache, self.cache), self.missing), self.progress,
                                done, total)
        with phase_timings.phase("waiting for the load" if self.meanwhile else "parse and per-file validation"):
            checked = _counted(self._results, self.progress, done, total)
            self._pool.shutdown()  # the workers' memory goes back now, not when the caller's run ends
        self._pool = self._results = None
        if self.meanwhile:  # it overlapped the caller's read: what it added is the wait
            phase_timings.add({"parse and per-file validation" + phase_timings.PARALLEL: time.monotonic() - self._started})
        return checked

    def finish(self):
        """Return (Declared, warnings) or raise InvalidState with every problem at once. The files' bytes are let
        go: the caller plans on with the model (and its platform read) in memory."""
        checked, problems, cached, contents = self.checked, list(self.problems), self.cached, self.contents
        checked.update(zip([file for file, _content in self.missing], self._checked_files()))
        self.checked = self.cached = self.contents = self.missing = None
        nothing_declared = not contents
        parts, local = [], []
        for file, _content in contents:
            if file in cached:
                parts.append(cached[file])
                continue
            portable, structural, own = checked[file]
            problems.extend(structural)
            local.extend(own)
            if portable is not None:
                parts.append(model.restored(file, portable))
        if problems:  # not the shape the rules across files expect: report what is known so far
            raise InvalidState(problems + local)
        self.cache.prune()
        del checked, cached, contents  # the model is made of ``parts`` now
        with phase_timings.phase("validation across files"):
            declared, warnings = across_files(parts, local, self._password_problems, self.known)
        if nothing_declared:  # merged mode then changes nothing; overridden mode refuses an empty state in the plan
            warnings = [NO_STATE_FILES % self.state_dir] + list(warnings)
        return declared, warnings

    def _password_problems(self, declared):
        return password_problems(declared, self.passwords or {}, self.secrets_file)


def validate(documents):
    """Schema and rules for documents that are not files (the one-account door)."""
    problems = [p for document in documents for p in schema_problems(document)]
    if problems:
        raise InvalidState(problems)
    parts = [model.file_part(document) for document in documents]
    return across_files(parts, [p for part in parts for p in rules.local_problems(part)])


def across_files(parts, local_problems, more_checks=None, known=None):
    """The rules across files (``parts``: model.file_part of each), on top of each file's own; every problem at
    once."""
    declared = model.merged(parts, (known or {}).get("groups"))
    problems, warnings = rules.check(declared, known)
    if more_checks is not None:
        problems = list(problems) + more_checks(declared)
    if problems or local_problems:
        raise InvalidState(list(local_problems) + problems)
    return declared, warnings


RULE_ONE_PLACE = "a password is given in one place"


def password_problems(declared, passwords, secrets_file):
    """A password from the controller (secrets file, !vault) must name a declared account, and must not also be
    written in plain text in the state: a silent precedence would set a password nobody chose."""
    accounts = declared.by_key("accounts")
    source = secrets_file or "the secrets file"
    problems = []
    for number in sorted(set(passwords) - set(accounts)):
        problems.append(Problem(source, shown(number), "matches no declared account (a typo, or an account that is "
                                "no longer declared?)", "secrets file keys name declared accounts"))
    for number in sorted(set(passwords) & set(accounts)):
        entry = accounts[number]
        if isinstance(entry.password, str):
            problems.append(Problem(entry.file, entry.path + ".password", "the password is given twice: in plain text "
                                    "here and in %s; keep one" % source, RULE_ONE_PLACE))
    return problems
