# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A fast parse of a state file (yaml_rs, in Rust: ~35x PyYAML's C loader with our checks) that gives exactly the data
the precise parser (loader.parse: PyYAML with our constructors and checks) gives, or declines, and then the precise
parser reads the file and explains every problem with its file and line.

The two parsers differ in how they type plain scalars (YAML 1.2 against 1.1: ``yes``, ``010``, ``12:30``, ``1e3``...),
in what they let through (tags, aliases, merges, a key over two lines in a flow mapping, ':' before ',' in a flow)
and in what our constructors mark (WrittenInt). A cheap gate on the text admits only texts inside what both read
alike: no character, marker, indicator or plain token where they could differ (tests/unit/test_fast_yaml.py, with
hand-built texts from hypothesis, proves it and found the flow-collection rules). What yaml_rs refuses (syntax, a
repeated key, '@' where a token starts) is declined too, and so is anything but a mapping at the top level: the
precise parser reads it. Depth and value length are bounded from the text where it can (indentation, brackets and the
gaps between quotes), else by walking the data.
"""

from __future__ import annotations

import re

from .loader import MAX_DEPTH, MAX_VALUE_CHARACTERS, could_nest_deeply

# The gate works on a translation of the text's UTF-8 bytes into classes (one C pass), where every check is a search
# for a rare byte: far cheaper than a regular expression trying each space of 21 MB.
_TOKEN_START = ord(" ")  # a line break, a space, a flow indicator: where a token can start (or end)
# Anchors, aliases, tags (and !vault), directives, block scalars, explicit keys, '<<' and '='. Not the reserved '@'
# and '`' (e-mail addresses have '@'): yaml_rs refuses them where a token starts, and so declines.
_INDICATOR = ord("!")
_FORBIDDEN = 0  # what PyYAML calls non-printable, tabs, CR, and the backslash (escapes)
_NONZERO_DIGIT = ord("1")
_NON_ASCII = ord("q")  # a letter, to the checks (the characters are checked apart, see _FORBIDDEN_NON_ASCII)


def _classes():
    table = bytearray(range(256))
    for byte in b" \n[]{},":
        table[byte] = _TOKEN_START
    for byte in b"&*!%|>?<=":
        table[byte] = _INDICATOR
    for byte in list(range(0x0a)) + list(range(0x0b, 0x20)) + [0x7f, ord("\\")]:
        table[byte] = _FORBIDDEN
    for byte in b"123456789":
        table[byte] = _NONZERO_DIGIT
    for byte in range(ord("A"), ord("Z") + 1):  # bool-like words are checked in any case
        table[byte] = byte + 32
    table[ord("_")] = ord("+")  # both may start or be inside a number
    for byte in range(0x80, 0x100):
        table[byte] = _NON_ASCII
    return bytes(table)


_CLASSES = _classes()
# Non-ASCII characters where parsers differ: NEL, NBSP and the Unicode spaces and line separators (Rust's trim() and
# is_whitespace() know more spaces than YAML does), zero-width and direction marks, the BOM, non-characters.
_FORBIDDEN_NON_ASCII = re.compile("[\x80-\xa0\u1680\u180e\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\ufeff\ufff0-\uffff]")
# Where a plain token ends, in either parser: a space, a line break, a flow indicator, the end, or ':' before one.
_END = rb"(?= |:(?: |\Z)|\Z)"
# A token starting with a digit that YAML 1.1 or 1.2 could read as a number, a date or a time (over-approximated): made
# only of the characters those are spelled with (digits, _ : + - and the letters of 0x/0o/0b, hex, exponents, T, Z)
# with at most one dot. 10.0.0.1 (three dots) and 0.0.0.0/0 (a '/') are strings in both.
_NUMBER_CHARACTER = rb"[01+:\-a-fxotz]"
_NUMBER_TAIL = _NUMBER_CHARACTER + rb"*(?:\." + _NUMBER_CHARACTER + rb"*)?" + _END
# Plain tokens both read as the same int and our constructors do not mark: -?(0|[1-9][0-9]{0,17}) (no sign, no leading
# zero, no underscore, fits an i64). true/false/null in the cases both know are agreed too, other cases are strings
# in both; ~ is null in both.
_UNSURE_NUMBERS = [re.compile(rb" 1(?![01]{0,17}" + _END + rb")" + _NUMBER_TAIL),
                   re.compile(rb" 0(?!" + _END + rb")" + _NUMBER_TAIL),
                   re.compile(rb" -(?:1(?![01]{0,17}" + _END + rb")" + _NUMBER_TAIL + rb"|0(?!" + _END + rb")"
                              + _NUMBER_TAIL + rb"|[.+])")]
# yes/no/on/off are bools to YAML 1.1, strings to 1.2. Each searched from its letters (a literal prefix is fast).
_BOOL_WORDS = [re.compile(word + rb"(?<= " + word + rb")" + _END) for word in (rb"yes", rb"no", rb"on", rb"off")]
# (reason, the byte that must be there, where it starts a token). The byte is looked for first (memchr): most texts
# have no '!' class at all.
_TOKEN_STARTS = [
    ("indicator", b"!", re.compile(rb"!(?<= !)")),
    ("empty or collection key", b":", re.compile(rb":(?<= :)")),  # ': a', '[a]: b', 'a : b'
    ("document marker", b"-", re.compile(rb"--(?<= --)")),  # '---' (and '--x') where a token starts; '...' is a dot
    ("plain token typed differently", b"+", re.compile(rb"\+(?<= \+)")),  # a sign or an underscore first
    ("plain token typed differently", b".", re.compile(rb"\.(?<= \.)")),  # .5, .inf, .nan, '...'
]
# A comment, to be left out of the checks ('# Seed 001: ...'): a '#' after a space or a line break starts one, unless it
# is inside a quoted scalar; then it continues past the end of the line, and what is left out (no quote in it) is
# that scalar's text, never a plain token after it.
_COMMENT = re.compile(r"#(?<=[ \n]#)[^'\"\n]*")
# Inside a flow collection libyaml refuses ':' right before ',?[]{}' ('{a:, b}', '[a:]'); yaml_rs reads a key.
_FLOW_COLON = re.compile(r":[,?\[\]{}]")
# A block sequence nested on the same line ('- - a') is the one way to nest without indenting, and '-' with three
# spaces after it starts a collection further right than _nests_shallowly counts with: both rare, both declined.
_COMPACT_NESTING = re.compile(r"- (?: *-(?=[ \n]|\Z)| {2})")


def gate(text):
    """None when both parsers read ``text`` alike, else the reason to decline (for tests and measurements)."""
    if not text.isascii() and _FORBIDDEN_NON_ASCII.search(text):
        return "character"
    padded = "\n" + text
    try:
        classes = padded.encode().translate(_CLASSES)
    except UnicodeEncodeError:  # a lone surrogate
        return "character"
    if _FORBIDDEN in classes:  # comments included: PyYAML refuses a control character anywhere
        return "character"
    if "#" in text:
        padded = _COMMENT.sub("", padded)
        classes = padded.encode().translate(_CLASSES)
    for reason, byte, pattern in _TOKEN_STARTS:
        if byte in classes and pattern.search(classes):
            return reason
    if any(pattern.search(classes) for pattern in _UNSURE_NUMBERS + _BOOL_WORDS):
        return "plain token typed differently"
    if _COMPACT_NESTING.search(padded):
        return "compact nesting"
    if "[" in padded or "{" in padded:
        if _FLOW_COLON.search(padded):
            return "colon in a flow collection"
        if not _flow_collections_close_on_their_line(padded):
            return "flow collection over several lines"
    return None


def _flow_collections_close_on_their_line(text):
    """Each line with a bracket closes as many as it opens of each kind, and has no quote (that could hide one): a key
    in a flow mapping may not span lines for libyaml, and yaml_rs reads it ('{a\n b: c}'). A loop over the lines, only
    for texts with flow collections."""
    for line in text.split("\n"):
        if ("[" in line or "]" in line or "{" in line or "}" in line) and (
                "'" in line or '"' in line or line.count("[") != line.count("]") or line.count("{") != line.count("}")):
            return False
    return True


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
    line): with no '-' followed by three spaces (refused by the gate), at most three columns on. Each flow bracket adds
    at most one level. So the deepest level is at most 2 * indentation + 8 + brackets."""
    brackets = padded.count("[") + padded.count("{") if "[" in padded or "{" in padded else 0
    widest = (MAX_DEPTH - 8 - brackets) // 2  # the indentation this allows
    return widest >= 0 and "\n" + " " * (widest + 1) not in padded


def _bounded_by_text(padded):
    return _nests_shallowly(padded) and _values_are_short(padded)


def _values_are_short(text):
    """True when no value can be longer than MAX_VALUE_CHARACTERS: no escape lengthens a gated text's scalars, a plain
    scalar never contains ': ', a double-quoted one never '"' (no backslash), and a single-quoted one never "'" unless
    doubled (refused here)."""
    return len(text) <= MAX_VALUE_CHARACTERS or (
        "''" not in text and _gaps_shorter_than(text, ": ", MAX_VALUE_CHARACTERS)
        and all(quote not in text or _gaps_shorter_than(text, quote, MAX_VALUE_CHARACTERS) for quote in "'\""))


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
