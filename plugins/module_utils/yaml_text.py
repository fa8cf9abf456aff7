# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Writing YAML text directly (PyYAML's dumper takes ~1 s for 10k accounts): one scalar writer for every file we
generate (gather's state files, import-csv's)."""

from __future__ import annotations

from json.encoder import encode_basestring  # JSON's escapes, non-ASCII letters kept as they are (C, fast)


def double_quoted(text):
    """A YAML double-quoted scalar (JSON's string syntax is one) that reads back as exactly ``text``. What Python
    does not call printable is escaped too: YAML's control characters and line separators must be, and an invisible
    character (a zero-width space, a soft hyphen) is shown to the reviewer of the file."""
    scalar = encode_basestring(text)
    if scalar.isprintable():
        return scalar
    return "".join(c if c.isprintable() else _escaped(c) for c in scalar)


def _escaped(character):
    code = ord(character)
    return "\\u%04x" % code if code < 0x10000 else "\\U%08x" % code
