# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load the state directory: every *.yml / *.yaml below it is one part of the declared state."""

from __future__ import annotations

import dataclasses
import functools
import os

from .errors import Problem


@dataclasses.dataclass(frozen=True)
class VaultValue:
    """An inline ``!vault`` value: decrypted on the controller, never here."""

    ciphertext: str

    def __repr__(self):
        return "VaultValue(<encrypted>)"


@functools.lru_cache(maxsize=None)
def state_loader():
    """PyYAML's C loader (pure-Python fallback) that keeps inline !vault values opaque.

    Third-party imports are made where they are used, so that a host without the library gets a
    clear "missing library" error from the module instead of an import traceback."""
    import yaml

    class StateLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        pass

    StateLoader.add_constructor("!vault", lambda loader, node: VaultValue(loader.construct_scalar(node)))
    return StateLoader


@dataclasses.dataclass
class Document:
    file: str  # relative to the state directory, as shown in messages
    data: object


def state_files(state_dir):
    found = []
    for root, dirs, files in os.walk(state_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found.extend(os.path.join(root, f) for f in sorted(files)
                     if f.endswith((".yml", ".yaml")) and not f.startswith("."))
    return found


def parse(text, file):
    """Return (Document or None, problems)."""
    import yaml

    try:
        return Document(file, yaml.load(text, Loader=state_loader())), []
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = "line %d, column %d" % (mark.line + 1, mark.column + 1) if mark else ""
        return None, [Problem(file, where, str(exc.problem or exc), "YAML syntax")]
    except yaml.YAMLError as exc:
        return None, [Problem(file, "", str(exc), "YAML syntax")]


def read_state_dir(state_dir):
    """Return ([(relative name, bytes)], problems) for every state file below ``state_dir``."""
    if not os.path.isdir(state_dir):
        return [], [Problem(state_dir, "", "the state directory does not exist", "state_dir must be a directory")]
    contents, problems = [], []
    for path in state_files(state_dir):
        rel = os.path.relpath(path, state_dir)
        try:
            with open(path, "rb") as handle:
                contents.append((rel, handle.read()))
        except OSError as exc:
            problems.append(Problem(rel, "", "cannot be read: %s" % exc.strerror, "state files are readable"))
    return contents, problems


def parse_bytes(content, file):
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(file, "", "is not UTF-8: %s" % exc, "state files are UTF-8 YAML")]
    return parse(text, file)
