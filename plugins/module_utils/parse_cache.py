# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Schema-valid state files by content hash: a file that did not change is neither parsed nor validated again.

Parsing and schema validation are most of a run's time at scale (ARCHITECTURE: 100k accounts), and most
runs change few files. An entry is the parsed document as JSON, keyed by the SHA-256 of the file's bytes,
the parser's version and the schema, so a new schema or parser never reuses an old entry. Beside it is the
file's part of the normalized model (model.portable): a load merges the parts without normalizing every object
again (~0.9 s at 100k accounts); the incremental run compares the documents.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.metadata
import json
import os
import sys
import time

from .json_text import in_order_bytes
from .loader import VaultValue

CACHE_FORMAT = 2  # 2: a model part beside each document
DOCUMENT, PART = ".json", ".part.json"
VAULT_KEY = b'"!vault"'
# An entry vouches for what these modules and libraries checked; new code must not trust an old entry.
VOUCHING_MODULES = ("loader", "fast_yaml", "shown", "state_schema", "schema_check", "model", "acl", "rules", "declared")
VOUCHING_LIBRARIES = ("yaml", "yaml_rs", "jsonschema", "jsonschema_rs", "phonenumbers")
PRUNE_AFTER_SECONDS = 30 * 24 * 3600


def default_directory():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "switchboard", "parsed")


def _encode(value):
    if isinstance(value, VaultValue):
        return {"!vault": value.ciphertext}
    raise TypeError("not JSON: %r" % type(value))


def _decode(obj):
    return VaultValue(obj["!vault"]) if len(obj) == 1 and "!vault" in obj else obj


def code_fingerprint():
    """Hash of the parser's version and the source of the modules an entry vouches for; None when a
    source cannot be read (then nothing is cached)."""
    digest = hashlib.sha256(("%s %s" % (CACHE_FORMAT, sys.version)).encode())
    for name in VOUCHING_LIBRARIES:
        try:
            digest.update(("%s %s" % (name, importlib.metadata.version(name if name != "yaml" else "PyYAML"))).encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(("%s absent" % name).encode())
    return digest.hexdigest().encode() if add_sources(digest, VOUCHING_MODULES) else None


def add_sources(digest, names):
    """Add the source of each module_utils module ``names`` to ``digest``; False when one cannot be read."""
    for name in names:
        module = importlib.import_module("." + name, __package__)
        source = getattr(getattr(module, "__loader__", None), "get_source", lambda name: None)(module.__name__)
        if source is None:
            return False
        # str from Python's loaders; bytes from Ansible's collection loader (an inventory plugin's imports)
        digest.update(source if isinstance(source, bytes) else source.encode())
    return True


def _has_plain_password(data):
    accounts = data.get("accounts") if isinstance(data, dict) else None
    return any(isinstance(a, dict) and isinstance(a.get("password"), str) for a in accounts or [])


class ParseCache:
    def __init__(self, directory=None):
        self.directory = directory or default_directory()
        self.salt = code_fingerprint()
        self.writable = self.salt is not None

    def get(self, key):
        """The document's data of the file with this key, or None."""
        return self._read(self._path(key, DOCUMENT))

    def get_part(self, key):
        """The model part (model.portable) of the file with this key, or None. Its document is kept as long (prune
        goes by the time a file was last used): the incremental run compares it when the file next changes."""
        part = self._read(self._path(key, PART))
        if part is not None:
            with contextlib.suppress(OSError):
                os.utime(self._path(key, DOCUMENT))
        return part

    def key(self, content):
        return hashlib.sha256((self.salt or b"") + content).hexdigest()

    def _path(self, key, suffix):
        return os.path.join(self.directory, key[:2], key + suffix)

    def _read(self, path):
        if self.salt is None:
            return None
        try:
            with open(path, "rb") as handle:
                text = handle.read()
            # Only a !vault value needs the hook; called for every mapping, it costs ~0.1 s at 100k accounts.
            data = json.loads(text, object_hook=_decode) if VAULT_KEY in text else json.loads(text)
            os.utime(path)
            return data
        except (OSError, ValueError):
            return None

    def put(self, key, data, part):
        """Keep a file's document data and its model part (model.portable). Best effort: a cache that cannot be
        written only costs time. A file with plain-text passwords is not copied: its passwords stay where the
        operator put them."""
        if not self.writable or _has_plain_password(data):
            return
        try:
            for suffix, value in ((DOCUMENT, data), (PART, part)):
                self._write(self._path(key, suffix), value)
        except (OSError, TypeError):
            self.writable = False

    @staticmethod
    def _write(path, value):
        # Owner-only: a state file may hold plain-text passwords (accepted with a warning).
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        temporary = "%s.%d.tmp" % (path, os.getpid())
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
            handle.write(in_order_bytes(value, _encode))
        os.replace(temporary, path)

    def prune(self):
        cutoff = time.time() - PRUNE_AFTER_SECONDS
        for root, _dirs, files in os.walk(self.directory):
            for name in files:
                path = os.path.join(root, name)
                try:
                    if os.path.getmtime(path) < cutoff:
                        os.unlink(path)
                except OSError:
                    pass
