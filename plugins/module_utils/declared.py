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
from .forked_work import ForkedWork
from .loader import Document, is_vault_encrypted, parse, parse_bytes, plain_ints, read_state_dir, seal_passwords
from .parse_cache import ParseCache
from .progress import LOADING, tick
from .schema_check import schema_problems
from .shown import shown

NO_STATE_FILES = "the state directory %s has no *.yml or *.yaml files: nothing is declared"
PARALLEL_FROM_BYTES = 4 * 1024 * 1024  # below this, starting processes costs more than it saves
FORKED_RULES_FROM_OBJECTS = 20000  # below this, the rules across files cost less than a fork (~0.15 s at 20k)


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
    declared, verdict = load_checked_meanwhile(state_dir, cache_dir, passwords, decrypted_files, secrets_file, known,
                                               progress, rules_meanwhile=False)
    return declared, verdict.warnings()


@paused()
def load_checked_meanwhile(state_dir, cache_dir=None, passwords=None, decrypted_files=None, secrets_file=None,
                           known=None, progress=None, rules_meanwhile=True):
    """load() for a caller that plans before it asks for the verdict: (Declared, RulesVerdict); a big state's rules
    across files are checked meanwhile."""
    with Loading(state_dir, cache_dir, passwords, decrypted_files, secrets_file, known, progress) as loading:
        return loading.finish(rules_meanwhile)


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

    def finish(self, rules_meanwhile=False):
        """Return (Declared, RulesVerdict) or raise InvalidState with the problems found in the files. The files'
        bytes are let go: the caller plans on with the model (and its platform read) in memory.
        ``rules_meanwhile``: the caller plans before it asks for the verdict (RulesVerdict)."""
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
            declared = model.merged(parts, (self.known or {}).get("groups"))
            verdict = RulesVerdict.checked(declared, local, self._password_problems, self.known, rules_meanwhile)
        if nothing_declared:  # merged mode then changes nothing; overridden mode refuses an empty state in the plan
            verdict.extra_warnings.insert(0, NO_STATE_FILES % self.state_dir)
        return declared, verdict

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
    return declared, RulesVerdict.checked(declared, local_problems, more_checks, known).warnings()


def _checked_across_files(declared, more_checks, known):
    """(problems, warnings) of the rules across files, with ``more_checks(declared)``'s problems."""
    problems, warnings = rules.check(declared, known)
    if more_checks is not None:
        problems = list(problems) + more_checks(declared)
    return problems, warnings, time.monotonic()


class RulesVerdict:
    """What the rules across files say of a merged model: checked at once, or ``meanwhile`` by a forked child
    (forked_work) when the model is big, so that the caller plans on this core while they are checked on the
    other (at 100k accounts ~0.8 s of ~1.3 s of planning, at 1M 17.5 s of 29.9 s). The caller asks for warnings()
    before anything is written; an invalid state raises there, and comes before whatever planning it made fail.
    Used as a context manager, it stops a child whose verdict was never asked for (the run failed first)."""

    def __init__(self, outcome=None, child=None, local_problems=(), started=None):
        self.extra_warnings = []  # the load's own, told before the rules'
        self._outcome, self._child, self._local, self._started = outcome, child, list(local_problems), started

    @classmethod
    def checked(cls, declared, local_problems, more_checks=None, known=None, meanwhile=False):
        work = functools.partial(_checked_across_files, declared, more_checks, known)
        if meanwhile and sum(map(len, declared.entries.values())) >= FORKED_RULES_FROM_OBJECTS:
            child = ForkedWork.start(work, "the check of the rules across files")
            if child is not None:
                return cls(child=child, local_problems=local_problems, started=time.monotonic())
        return cls(work(), local_problems=local_problems)

    @classmethod
    def given(cls, warnings):
        """The verdict on a state checked already: valid, with these warnings."""
        return cls(([], list(warnings), None))

    def warnings(self):
        """The warnings of a valid state; InvalidState with every problem at once otherwise."""
        if self._child is not None:
            child, self._child = self._child, None
            with phase_timings.phase("validation across files"):
                self._outcome = child.result()
            phase_timings.add({"validation across files" + phase_timings.PARALLEL: self._outcome[2] - self._started})
        problems, warnings, _checked_at = self._outcome
        if problems or self._local:
            raise InvalidState(self._local + list(problems))
        return self.extra_warnings + list(warnings)

    def invalid_first(self, work, *args):
        """work(*args), done while the rules may still be checked: when it fails, an invalid state is the story."""
        try:
            return work(*args)
        except Exception:
            self.warnings()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *failed):
        if self._child is not None:
            self._child.abandon()
            self._child = None


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
