# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load the state directory: every *.yml / *.yaml below it is one part of the declared state.

Input can never destroy data or the controller: a repeated key is an error (the last one would
silently win), aliases may not expand a file beyond a few times its written size ("billion laughs"),
nesting, file size and value length are bounded, and a file that is not a regular file (a FIFO, a
socket, a device, a dangling symlink) is refused by name without ever being opened for reading.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import os
import re
import stat

from .errors import Problem
from .shown import shown

MAX_FILE_BYTES = 256 * 1024 * 1024  # 100k accounts are ~30 MB
MAX_VALUE_CHARACTERS = 65536  # a description or a vault ciphertext is far shorter
MAX_DEPTH = 64  # a state file nests 5 levels deep
# Below this many brackets plus columns a file cannot nest deep enough to crash PyYAML's C composer (measured:
# 20k levels compose, 50k crash); above it the nesting is measured first, which costs ~20% of a parse.
SAFE_NESTING_BOUND = 10000
ALIAS_GROWTH = 4  # aliases may repeat values up to this many times what the file spells out...
ALIAS_ALLOWANCE = 100000  # ...plus this many values, enough for one shared ACL in many small files
VAULT_HEADER = b"$ANSIBLE_VAULT;"
YAML_EXTENSIONS = (".yml", ".yaml")
MERGE_TAG = "tag:yaml.org,2002:merge"

# Rules named in messages.
RULE_SYNTAX = "YAML syntax"
RULE_UNIQUE_KEYS = "keys are unique in a mapping"
RULE_BOUNDED = "state files are bounded"
RULE_FILES = "state files are regular files"


@dataclasses.dataclass(frozen=True)
class VaultValue:
    """An inline ``!vault`` value: decrypted on the controller, never here."""

    ciphertext: str

    def __repr__(self):
        return "VaultValue(<encrypted>)"


class WrittenInt(int):
    """An integer YAML 1.1 read from a surprising spelling (``12:30`` is 750, ``010`` is 8, ``+39...``
    lost its +): messages show what was written."""

    written = ""

    def __reduce__(self):
        return _written_int, (int(self), self.written)


def _written_int(value, written):
    number = WrittenInt(value)
    number.written = written
    return number


class StateYAMLError(Exception):
    """A problem found while composing or constructing, with its position and rule."""

    def __init__(self, mark, message, rule):
        super().__init__(message)
        self.mark, self.message, self.rule = mark, message, rule


def _position(mark):
    return "line %d, column %d" % (mark.line + 1, mark.column + 1) if mark is not None else ""


@functools.lru_cache(maxsize=None)
def state_loader():
    """PyYAML's C loader (pure-Python fallback) that keeps inline !vault values opaque and refuses
    repeated keys.

    Third-party imports are made where they are used, so that a host without the library gets a
    clear "missing library" error from the module instead of an import traceback."""
    import yaml

    StateLoader = _checked_loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    StateLoader.add_constructor("tag:yaml.org,2002:int", StateLoader.construct_yaml_int)
    StateLoader.add_constructor("tag:yaml.org,2002:timestamp", StateLoader.construct_yaml_timestamp)
    StateLoader.add_constructor("!vault", lambda loader, node: VaultValue(loader.construct_scalar(node)))
    return StateLoader


@functools.lru_cache(maxsize=None)
def text_loader():
    """The same checks, every scalar a string: the secrets file's keys (+390212345601 unquoted stays
    a number string) and its passwords (yes, 0123) are taken as written."""
    import yaml

    TextLoader = _checked_loader(getattr(yaml, "CBaseLoader", yaml.BaseLoader))
    TextLoader.add_constructor(None, _plain_text_or_unknown_tag)
    return TextLoader


# One `KEY: VALUE` line of a mapping whose every scalar is text (the secrets file as tools write it): quoted
# without escapes, or plain from characters that can never start or end anything else in YAML.
_TEXT_LINE = re.compile(r"(?:'([^'\n]*)'|\"([^\"\\\n]*)\"|([A-Za-z0-9_+.][A-Za-z0-9_+.=/@~^%-]*))"
                        r": (?:'([^'\n]*)'|\"([^\"\\\n]*)\"|([A-Za-z0-9_+.][A-Za-z0-9_+.=/@~^%-]*))")


_TEXT_LINES = re.compile("^%s$" % _TEXT_LINE.pattern, re.MULTILINE)


def simple_text_mapping(text):
    """The mapping ``text`` is when every line is one simple `KEY: VALUE` (as text_loader() reads it, in a
    fraction of its time: 50k passwords in 0.03 s instead of 1.5 s), else None and the YAML parser decides:
    a repeated key, a comment, an escape or anything else is its to judge and to report. One pass of the
    regular expression over the whole text: a match is a whole line, so as many matches as lines is every line."""
    pairs = _TEXT_LINES.findall(text)
    if not pairs or len(pairs) != text.count("\n") + (not text.endswith("\n")):
        return None
    # An alternative that did not take part reads "": the one that did, even an empty '' or "", is the value.
    found = {ks or kd or kp: vs or vd or vp for ks, kd, kp, vs, vd, vp in pairs}
    return found if len(found) == len(pairs) else None


PLAIN_CONSTRUCTORS = {"tag:yaml.org,2002:str": "construct_scalar", "tag:yaml.org,2002:seq": "construct_sequence",
                      "tag:yaml.org,2002:map": "construct_mapping"}


def _plain_text_or_unknown_tag(loader, node):
    if node.tag not in PLAIN_CONSTRUCTORS:
        _unknown_tag(loader, node)
    return getattr(loader, PLAIN_CONSTRUCTORS[node.tag])(node)


def _checked_loader(base):
    class StateLoader(base):
        def construct_mapping(self, node, deep=False):
            mapping = super().construct_mapping(node, deep=deep)
            merged = getattr(node, "written_pairs", None)
            if merged is not None:  # keys merged in may be overridden; the keys written here may not repeat
                _refuse_repeated_keys(self, merged)
            elif len(mapping) != len(node.value):  # fast path: as many keys as were written, none repeated
                _refuse_repeated_keys(self, node.value)
            return mapping

        def flatten_mapping(self, node):
            for key_node, _value in node.value:
                if key_node.tag in (MERGE_TAG, "tag:yaml.org,2002:value"):
                    if not hasattr(node, "written_pairs"):
                        node.written_pairs = [pair for pair in node.value if pair[0].tag != MERGE_TAG]
                    super().flatten_mapping(node)
                    return

        def construct_yaml_timestamp(self, node):
            try:
                return super().construct_yaml_timestamp(node)
            except ValueError:
                raise StateYAMLError(node.start_mark, "YAML reads this unquoted value as a date, and it is not a valid "
                                     "date: quote it", RULE_SYNTAX) from None

        def construct_yaml_int(self, node):
            try:
                number = super().construct_yaml_int(node)
            except ValueError:  # Python refuses to convert more than 4300 digits
                raise StateYAMLError(node.start_mark, "a number of %d characters is too long: quote it if it is a "
                                     "text" % len(node.value), RULE_BOUNDED) from None
            text = node.value
            digits = text.lstrip("+-")
            if text[0] == "+" or ":" in text or "_" in text or (len(digits) > 1 and digits[0] == "0"):
                self.surprising = True
                return _written_int(number, text)
            return number

    StateLoader.add_constructor(None, _unknown_tag)
    return StateLoader


def _unknown_tag(loader, node):
    # The tag's text may be a password written without quotes (password: !Secret-123): never shown.
    raise StateYAMLError(node.start_mark, "an unknown YAML tag (the text after '!') is not allowed; quote the value "
                         "if it starts with '!'", RULE_SYNTAX)


def _refuse_repeated_keys(loader, pairs):
    """Called only when keys collapsed or were merged: find the first key written twice."""
    first = {}
    for key_node, _value in pairs:
        key = loader.construct_object(key_node, deep=True)
        try:
            earlier = first.setdefault(key, key_node)
        except TypeError:
            continue  # an unhashable key: PyYAML has refused it already
        if earlier is not key_node:
            raise StateYAMLError(key_node.start_mark, "%s is written twice in the same mapping (first on line %d): "
                                 "the last one would silently replace the first" % (shown(key), earlier.start_mark.line + 1),
                                 RULE_UNIQUE_KEYS)


def could_nest_deeply(text):
    """A cheap upper bound: nesting needs an opening bracket or a deeper indentation (or a '- ' on the line)
    per level. PyYAML's C composer recurses without a limit and crashes the process at ~50k levels."""
    bound = text.count("[") + text.count("{") + max(map(len, text.split("\n")))
    return bound > SAFE_NESTING_BOUND


def check_nesting(text, loader_class):
    """The exact nesting depth from the event stream, which libyaml produces without recursion."""
    import yaml

    depth = 0
    for event in yaml.parse(text, Loader=loader_class):
        if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                raise StateYAMLError(event.start_mark, "values nest deeper than %d levels" % MAX_DEPTH, RULE_BOUNDED)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            depth -= 1


def check_node_graph(root, text_length):
    """Refuse what would make a small file huge once aliases are expanded, or too deep to walk.

    Composed nodes share aliased values, so each collection is walked once and its expanded size
    remembered (a DAG); a collection met again while it is being walked contains itself. Recursion is
    safe: it stops at MAX_DEPTH. ~0.2 µs a node: 30 ms for 10k accounts."""
    import yaml

    scalar_class, sequence_class = yaml.ScalarNode, yaml.SequenceNode
    check_length = text_length > MAX_VALUE_CHARACTERS
    expanded = {}
    written = 0
    biggest_alias, biggest_alias_size = None, 0

    def size(node, depth):
        nonlocal written, biggest_alias, biggest_alias_size
        if node.__class__ is scalar_class:
            written += 1
            if check_length and len(node.value) > MAX_VALUE_CHARACTERS:
                raise StateYAMLError(node.start_mark, "a value of %d characters is longer than the %d allowed"
                                     % (len(node.value), MAX_VALUE_CHARACTERS), RULE_BOUNDED)
            return 1
        key = id(node)
        known = expanded.get(key)
        if known is not None:
            if known < 0:
                raise StateYAMLError(node.start_mark, "an alias refers to a value that contains it (a recursive "
                                     "anchor)", RULE_BOUNDED)
            if known > biggest_alias_size:
                biggest_alias, biggest_alias_size = node, known
            return known
        if depth > MAX_DEPTH:
            raise StateYAMLError(node.start_mark, "values nest deeper than %d levels" % MAX_DEPTH, RULE_BOUNDED)
        expanded[key] = -1
        written += 1
        total = 1
        depth += 1
        if node.__class__ is sequence_class:
            for child in node.value:
                total += size(child, depth)
        else:
            for key_node, value_node in node.value:
                total += size(key_node, depth) + size(value_node, depth)
        expanded[key] = total
        return total

    total = size(root, 1)
    limit = ALIAS_GROWTH * written + ALIAS_ALLOWANCE
    if total > limit:
        raise StateYAMLError(biggest_alias.start_mark, "aliases would expand this file to %d values, more than %d "
                             "(%d times the %d it spells out, plus %d); the value anchored here has %d"
                             % (total, limit, ALIAS_GROWTH, written, ALIAS_ALLOWANCE, biggest_alias_size), RULE_BOUNDED)


@dataclasses.dataclass
class Document:
    file: str  # relative to the state directory, as shown in messages
    data: object
    surprising: bool = False  # holds WrittenInt values, for messages only: plain_ints() once the schema passed


def plain_ints(value):
    """The data with every WrittenInt an int again: the model and its diffs see the numbers YAML read."""
    if isinstance(value, WrittenInt):
        return int(value)
    if isinstance(value, dict):
        return {key: plain_ints(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_ints(item) for item in value]
    return value


def is_state_file(name):
    return name.lower().endswith(YAML_EXTENSIONS) and not name.startswith(".")


def parse(text, file, loader_class=None):
    """Return (Document or None, problems)."""
    import yaml

    if loader_class is None:  # a state file: read fast when the fast parser is sure to read what this one reads
        from . import fast_yaml

        data = fast_yaml.parse(text)
        if data is not None:
            return Document(file, data), []
    loader_class = loader_class or state_loader()
    loader = loader_class(text)
    try:
        if could_nest_deeply(text):
            check_nesting(text, loader_class)
        node = loader.get_single_node()
        if node is None:
            return Document(file, None), []
        check_node_graph(node, len(text))
        data = loader.construct_document(node)
        return Document(file, data, getattr(loader, "surprising", False)), []
    except StateYAMLError as exc:
        return None, [Problem(file, _position(exc.mark), exc.message, exc.rule)]
    except yaml.MarkedYAMLError as exc:  # never str(exc): the pure-Python parser adds an excerpt of the line
        return None, [Problem(file, _position(exc.problem_mark), exc.problem or exc.context or "is not valid YAML",
                              RULE_SYNTAX)]
    except yaml.YAMLError as exc:
        return None, [Problem(file, "", str(exc), RULE_SYNTAX)]
    except RecursionError:
        return None, [Problem(file, "", "values nest too deep", RULE_BOUNDED)]
    finally:
        loader.dispose()


def state_files(state_dir):
    """Return ([path of every state file below ``state_dir``], problems).

    Symlinked files and directories are followed (a state split over linked directories is normal);
    names are matched without regard to case (``ACCOUNTS.YML``), since a file overridden mode skipped
    would have everything it declares deleted. Hidden files and directories (``.git``) are skipped.
    Anything that is not a regular file or directory, and a symlink that leads nowhere, is refused by
    name: opening a FIFO would hang the run."""
    found, problems = [], []
    pending = [(state_dir, frozenset())]
    while pending:
        directory, ancestors = pending.pop()
        try:
            here = os.stat(directory)
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as exc:
            problems.append(_file_problem(state_dir, directory, "cannot be read: %s" % exc.strerror))
            continue
        ancestors = ancestors | {(here.st_dev, here.st_ino)}
        subdirectories = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            kind, identity, problem = _classify(entry)
            if problem:
                problems.append(_file_problem(state_dir, entry.path, problem))
            elif kind == "directory":
                if identity in ancestors:
                    problems.append(_file_problem(state_dir, entry.path, "is a symlink to a directory that contains it "
                                                  "(a loop)"))
                else:
                    subdirectories.append((entry.path, ancestors))
            elif kind == "file" and is_state_file(entry.name):
                found.append(entry.path)
        pending.extend(reversed(subdirectories))
    return found, problems


def _classify(entry):
    """(kind, (device, inode), problem) of a directory entry, following symlinks without opening anything."""
    try:
        status = os.stat(entry.path)
    except OSError as exc:
        if entry.is_symlink():
            reason = "a symlink loop" if exc.errno == errno.ELOOP else "a dangling symlink (its target does not exist)"
            return None, None, "is %s" % reason
        return None, None, "cannot be read: %s" % exc.strerror
    identity = (status.st_dev, status.st_ino)
    if stat.S_ISDIR(status.st_mode):
        return "directory", identity, None
    if stat.S_ISREG(status.st_mode):
        return "file", identity, None
    return None, identity, "is %s, not a regular file" % _special_kind(status.st_mode)


def _special_kind(mode):
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "a special file"


def _file_problem(state_dir, path, message):
    return Problem(os.path.relpath(path, state_dir), "", message, RULE_FILES)


def read_state_dir(state_dir):
    """Return ([(relative name, bytes)], problems) for every state file below ``state_dir``."""
    if not os.path.isdir(state_dir):
        reason = "is a file, not a directory" if os.path.lexists(state_dir) else "does not exist"
        return [], [Problem(state_dir, "", "the state directory %s" % reason, "state_dir must be a directory")]
    contents = []
    paths, problems = state_files(state_dir)
    for path in paths:
        rel = os.path.relpath(path, state_dir)
        content, problem = read_regular_file(path)
        if problem:
            problems.append(Problem(rel, "", *problem))
        else:
            contents.append((rel, content))
    return contents, problems


def current_umask():
    """The process's umask (only settable, so set and put back): files made beside and renamed get the usual mode."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read_regular_file(path):
    """Return (bytes, None) or (None, (message, rule)). Opened without blocking: a file replaced by a FIFO
    since it was listed is refused, not waited on."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        return None, ("cannot be read: %s" % exc.strerror, RULE_FILES)
    with os.fdopen(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            return None, ("is %s, not a regular file" % _special_kind(status.st_mode), RULE_FILES)
        try:
            content = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            return None, ("cannot be read: %s" % exc.strerror, RULE_FILES)
    if len(content) > MAX_FILE_BYTES:
        return None, ("has more than the %d bytes allowed" % MAX_FILE_BYTES, RULE_BOUNDED)
    return content, None


def is_vault_encrypted(content):
    return content.lstrip()[:len(VAULT_HEADER)] == VAULT_HEADER


def parse_bytes(content, file):
    if is_vault_encrypted(content):
        return None, [Problem(file, "", "is encrypted with Ansible Vault as a whole, and no vault secret decrypted it "
                              "(give the controller the vault password, e.g. --ask-vault-pass)", "vault values need the vault secret")]
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(file, "", "is not UTF-8 (byte %d)" % exc.start, "state files are UTF-8 YAML")]
    return parse(text, file)


SEALED = VaultValue("$ANSIBLE_VAULT (the whole file)")


def seal_passwords(data):
    """A whole-file-vault state file was decrypted on the controller: its passwords were encrypted at
    rest like inline !vault values, travel like them (the controller hands them over), and are not
    plain-text passwords."""
    accounts = data.get("accounts") if isinstance(data, dict) else None
    for account in accounts if isinstance(accounts, list) else []:
        if isinstance(account, dict) and isinstance(account.get("password"), str):
            account["password"] = SEALED
    return data
