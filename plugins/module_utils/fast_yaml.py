# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fast parse of a state file (yaml_rs, in Rust: ~25x PyYAML's C loader) that gives exactly the data the precise
parser (loader.parse: PyYAML with our constructors and checks) gives, or declines, and then the precise parser reads
the file and explains every problem with its file and line.

The two parsers differ in how they type plain scalars (YAML 1.2 against 1.1: ``yes``, ``010``, ``12:30``, ``1e3``...),
in what they let through (tags, aliases, merges) and in what our constructors mark (WrittenInt). A cheap gate on the
text admits only texts that stay inside what both read alike, proved by the differential tests in
tests/unit/test_fast_yaml*.py: no character, marker, indicator or plain token where they could differ. What yaml_rs
refuses (syntax, a repeated key) is declined: the precise parser finds it and says where.
"""

from __future__ import annotations

import re

from .loader import MAX_DEPTH, MAX_VALUE_CHARACTERS, could_nest_deeply

# Characters: what PyYAML calls non-printable, tabs, CR, NEL, Unicode spaces and line separators (Rust's trim() and
# is_whitespace() know more spaces than YAML does), the BOM, and the backslash (escapes). ASCII texts, the common case,
# are searched with the shorter class.
_ASCII_FORBIDDEN = re.compile(r"[\x00-\x09\x0b-\x1f\x7f\\]")
_FORBIDDEN = re.compile("[\\x00-\\x09\\x0b-\\x1f\\x7f-\\xa0\\\\\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000"
                        "\ud800-\udfff\ufeff\ufff0-\uffff]")
# Document markers and directives start a line (the text is searched with a newline in front).
_MARKERS = ("\n---", "\n...", "\n%")
# A token starts after a line break, a space or a flow indicator. At a token's start: anchors, aliases, tags (and
# !vault), directives, reserved characters, block scalars, explicit keys, an empty key (':'), the merge key '<<' and
# the value key '='. Searched from the indicator (rare) and then looking back: far cheaper than from every space.
_BOUNDARY = r"[ \n\[\]{},]"
_INDICATOR = re.compile(r"[&*!%@`|>?:<=](?<=" + _BOUNDARY + ".)")
# Where a plain token can end, in either parser: a space, a line break, the end, a flow indicator, or ': '.
_END = r"(?=[ \n,\[\]{}]|:(?:[ \n,\[\]{}]|\Z)|\Z)"
# The plain tokens both parsers read as the same int, bool or null and our constructors do not mark (no sign, no
# leading zero, no underscore, fits an i64): verified one by one in the tests.
_AGREED = r"(?:-?(?:0|[1-9][0-9]{0,17})|true|True|TRUE|false|False|FALSE|null|Null|NULL|~)" + _END
# Every other plain token that YAML 1.1 (PyYAML's resolvers) or YAML 1.2 (yaml_rs) could read as something else than
# a string, over-approximated: bool-like words in any case (yes/no/on/off/true/false/null), anything starting with a
# sign, a dot or an underscore, and a token starting with a digit made only of characters numbers, dates and times are
# spelled with (digits, _ : + - and the letters of 0x/0o/0b, hex, exponents, T, Z) with at most one dot.
# 10.0.0.1 and 0.0.0.0/0 are strings in both: two dots, or a '/'.
_NUMBER_CHAR = r"[0-9_:a-fA-FxXoOtTzZ+\-]"
_RISKY_TOKEN = re.compile(_BOUNDARY + r"(?!" + _AGREED + r")(?:(?:(?i:yes|no|on|off|true|false|null)|~|[0-9]" + _NUMBER_CHAR
                          + r"*(?:\." + _NUMBER_CHAR + r"*)?)" + _END + r"|[+._]|-[0-9._])")
# A block sequence nested on the same line ('- - a') is the one way to nest without indenting (see _DEPTH_BOUND).
_COMPACT_NESTING = re.compile(r"- +-(?:[ \n]|\Z)")
# A quoted scalar that does not close on its line: folding of quoted lines is where parsers tend to differ, and
# without them every scalar is either on one line or plain (see _values_are_short).
_OPEN_QUOTE = re.compile(r"['\"](?<=[ \n\[{,:].)(?:(?<=')(?:[^'\n]|'')*|(?<=\")[^\"\n]*)(?:\n|\Z)")


def gate(text):
    """None when both parsers read ``text`` alike, else the reason to decline (for tests and measurements)."""
    padded = "\n" + text
    forbidden = _ASCII_FORBIDDEN if text.isascii() else _FORBIDDEN
    if forbidden.search(text):
        return "character"
    if any(marker in padded for marker in _MARKERS):
        return "document marker"
    if _INDICATOR.search(padded):
        return "indicator"
    if _RISKY_TOKEN.search(padded):
        return "plain token typed differently"
    if _COMPACT_NESTING.search(text):
        return "compact nesting"
    if _OPEN_QUOTE.search(padded):
        return "multi-line quoted scalar"
    return None


def parse(text):
    """The data the precise parser would read from ``text``, or None: decline, and let it read and explain."""
    if gate(text) is not None:
        return None
    try:
        import yaml_rs
    except ImportError:
        return None
    bounded = _bounded_by_text("\n" + text)
    if not bounded and could_nest_deeply(text):
        return None
    try:
        data = yaml_rs.loads(text, parse_datetime=False, duplicate_key_policy=yaml_rs.DuplicateKeyPolicy.Error)
    except Exception:  # any refusal (syntax, a repeated key): the precise parser finds it and says where
        return None
    if data.__class__ is not dict:  # not a state file's top level: the precise parser's document goes to the schema
        return None
    if not bounded and not _within_bounds(data):
        return None
    return data


def _nests_shallowly(padded):
    """True when no collection can nest deeper than MAX_DEPTH (the top level being 1, as check_node_graph counts).

    A block collection inside another starts further right, except a sequence that is a mapping's value (same
    column): so level n starts at column (n - 1) // 2 or more. A block collection starts at its line's indentation,
    or after one '- ' ('- - ' is refused by the gate, '? ' is an indicator, a mapping's value starts on the next
    line): with no '-' followed by three spaces, at most three columns on. Each flow bracket adds at most one level.
    So the deepest level is at most 2 * indentation + 8 + brackets."""
    brackets = padded.count("[") + padded.count("{")
    widest = (MAX_DEPTH - 8 - brackets) // 2  # the indentation this allows
    return widest >= 0 and "\n" + " " * (widest + 1) not in padded and "-   " not in padded


def _bounded_by_text(padded):
    return _nests_shallowly(padded) and _values_are_short(padded)


def _values_are_short(text):
    """True when no value can be longer than MAX_VALUE_CHARACTERS. A gated text's scalars are either on one line or
    plain, no escape lengthens them, and a plain scalar never contains ': '."""
    return (len(text) <= MAX_VALUE_CHARACTERS
            or (_gaps_shorter_than(text, "\n", MAX_VALUE_CHARACTERS) and _gaps_shorter_than(text, ": ", MAX_VALUE_CHARACTERS)))


def _gaps_shorter_than(text, separator, limit):
    """Every stretch of ``text`` between two ``separator`` (or an end) is shorter than ``limit``: a few hundred
    rfind() over a 1 MB file instead of splitting it."""
    start = 0
    while len(text) - start >= limit:
        found = text.rfind(separator, start, start + limit + len(separator) - 1)
        if found < 0:
            return False
        start = found + len(separator)
    return True


def _within_bounds(data):
    """The exact walk, when the text could not prove the bounds: depth and value length as check_node_graph checks
    them (keys included)."""
    pending = [(data, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > MAX_DEPTH:
            return False
        children = list(node.items()) if node.__class__ is dict else [(None, item) for item in node]
        for key, value in children:
            for item in (key, value):
                if item.__class__ is str and len(item) > MAX_VALUE_CHARACTERS:
                    return False
                if item.__class__ in (dict, list):
                    pending.append((item, depth + 1))
    return True
