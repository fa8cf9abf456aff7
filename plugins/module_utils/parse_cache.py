# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Schema-valid state files by content hash: a file that did not change is neither parsed nor validated again.

Parsing and schema validation are most of a run's time at scale (ARCHITECTURE: 100k accounts), and most
runs change few files. An entry is the parsed document as JSON, keyed by the SHA-256 of the file's bytes,
the parser's version and the schema, so a new schema or parser never reuses an old entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import time

from .loader import VaultValue
from .state_schema import STATE_FILE

CACHE_FORMAT = 1
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


class ParseCache:
    def __init__(self, directory=None):
        import yaml

        self.directory = directory or default_directory()
        self.salt = json.dumps([CACHE_FORMAT, yaml.__version__, STATE_FILE], sort_keys=True).encode()
        self.writable = True

    def key(self, content):
        return hashlib.sha256(self.salt + content).hexdigest()

    def _path(self, key):
        return os.path.join(self.directory, key[:2], key + ".json")

    def get(self, key):
        path = self._path(key)
        try:
            with open(path) as handle:
                data = json.load(handle, object_hook=_decode)
            os.utime(path)
            return data
        except (OSError, ValueError):
            return None

    def put(self, key, data):
        """Best effort: a cache that cannot be written only costs time."""
        if not self.writable:
            return
        path = self._path(key)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            temporary = "%s.%d.tmp" % (path, os.getpid())
            with open(temporary, "w") as handle:
                json.dump(data, handle, default=_encode, separators=(",", ":"))
            os.replace(temporary, path)
        except (OSError, TypeError):
            self.writable = False

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
