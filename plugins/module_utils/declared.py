# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load and validate the declared state: files -> documents -> schema -> rules -> model.

Every problem is collected and raised at once. Files are parsed in parallel when there is
much to parse, and files unchanged since a run that accepted them come from the parse cache.
"""

from __future__ import annotations

import multiprocessing
import os
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


def check_file(item):
    """(file, bytes) -> (Document or None, structural problems, the file's own rule problems)."""
    file, content = item
    document, problems = parse_bytes(content, file)
    return _check_document(document, problems)


def check_decrypted_file(file, text):
    """A whole-file-vault state file the controller decrypted: its passwords are sealed like !vault values."""
    document, problems = parse(text, file)
    if document is not None:
        seal_passwords(document.data)
    return _check_document(document, problems)


def _check_document(document, problems):
    if document is None:
        return None, problems, []
    problems = schema_problems(document)
    if problems:
        return document, problems, []
    if document.surprising:
        document = Document(document.file, plain_ints(document.data))
    return document, [], rules.local_problems(model.build([document]))


def _check_files(items, progress=None, done=0, total=0):
    workers = min(os.cpu_count() or 1, len(items))
    if workers < 2 or sum(len(content) for _file, content in items) < PARALLEL_FROM_BYTES:
        return _counted(map(check_file, items), progress, done, total)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                             initializer=die_with_parent, initargs=(os.getpid(),)) as pool:
        return _counted(pool.map(check_file, items), progress, done, total)


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
    contents, problems = read_state_dir(state_dir)
    decrypted_files = decrypted_files or {}
    cache = ParseCache(cache_dir)
    cached, checked, missing = {}, {}, []
    for file, content in contents:
        if file in decrypted_files and is_vault_encrypted(content):
            checked[file] = check_decrypted_file(file, decrypted_files[file])
            continue
        data = cache.get(cache.key(content))
        if data is None:
            missing.append((file, content))
        else:
            cached[file] = Document(file, data)
    with phase_timings.phase("parse and per-file validation"):
        checked.update(zip([file for file, _content in missing], _check_files(missing, progress, len(cached), len(contents))))
    documents, local = [], []
    for file, content in contents:
        if file in cached:
            documents.append(cached[file])
            continue
        document, structural, own = checked[file]
        problems.extend(structural)
        local.extend(own)
        if document is not None:
            documents.append(document)
            if not structural and not own and file not in decrypted_files:
                cache.put(cache.key(content), document.data)
    if problems:  # not the shape the rules across files expect: report what is known so far
        raise InvalidState(problems + local)
    cache.prune()
    with phase_timings.phase("validation across files"):
        declared, warnings = across_files(documents, local,
                                          lambda declared: password_problems(declared, passwords or {}, secrets_file),
                                          known)
    if not contents:  # merged mode then changes nothing; overridden mode refuses an empty state in the plan
        warnings = [NO_STATE_FILES % state_dir] + list(warnings)
    return declared, warnings


def validate(documents):
    """Schema and rules for documents that are not files (the one-account door)."""
    problems = [p for document in documents for p in schema_problems(document)]
    if problems:
        raise InvalidState(problems)
    return across_files(documents, rules.local_problems(model.build(documents)))


def across_files(documents, local_problems, more_checks=None, known=None):
    """The rules across files, on top of each file's own; every problem at once."""
    declared = model.build(documents, (known or {}).get("groups"))
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
