"""Hypothesis strategies for YAML *texts* written by hand the ways people and tools write them (block and flow
collections, plain, single- and double-quoted scalars, comments, blank lines, multi-line scalars, odd indentation),
from an alphabet rich in what YAML 1.1 and 1.2 read differently; and a strict comparison of parsed data."""

import math

from hypothesis import strategies as st

# Plain tokens where PyYAML (YAML 1.1) and yaml_rs (YAML 1.2) or our constructors could disagree, and ordinary ones.
RISKY_PLAIN = [
    "yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "y", "n", "Y", "N",
    "true", "True", "TRUE", "tRUE", "false", "False", "FALSE", "null", "Null", "NULL", "nUll", "~", "~x",
    "0", "-0", "+0", "1", "-1", "+1", "7", "010", "-010", "08", "0o10", "0O7", "0x1F", "0X1f", "0b101", "0B1", "1_000",
    "1_", "_1", "-_1", "__", "1__", "12:30", "1:2:3", "190:20:30.15", "1e3", "1E3", "1e+3", "1.e5", "-1e-3", "1.", "1.5",
    ".5", "-.5", "+.5", "._5", "0.", "1.2.3", "1e", "e5", ".inf", "-.inf", "+.inf", ".Inf", ".INF", ".iNf", ".nan",
    ".NaN", "inf", "nan", "NaN", "2024-01-01", "2024-1-1", "2024-01-01T10:00:00Z", "2001-12-14t21:59:43.10-05:00",
    "10:00:00", "123456789012345678", "1234567890123456789", "99999999999999999999", "-123456789012345678",
    "+390212345601", "390212345601", "10.0.0.1", "10.0.0.0/8", "0.0.0.0/0", "::1", "fe80::1", "a:b", "a::b", "http://x:80/y",
    "<<", "=", "-", "--", "---", "...", "!x", "!vault", "&a", "*a", "?x", "?", ":x", "|", ">", "%x", "@x", "`x", "#x",
    "a#b", "a,b", "a[b", "a]b", "a{b", "a}b", "a'b", "a\"b", "o'neil", "Desk-password-1", "user@example.com", "d0",
    "mobile", "Desk 0", "Mobile User 1", "spare 12", "a b  c", "é", "Zoë", "名前", "emoji\U0001F600", "a - b", "a -",
    "a: b", "a:", "a :b", "a ? b", "a & b", "a ! b", "x*", "a|b", "a>b", "a=b", "a<<b", "- a", "10.0.0.1 # c",
]
# Characters where parsers differ: rarer, the gate refuses them whole.
ODD_CHARACTERS = ["x\u00a0y", "a\u2028b", "tab\there", "back\\slash", "a\rb", "nbsp\u00a0", "\ufeffbom", "ctrl\x07",
                  "del\x7f", "nel\x85", "\u3000", "zw\u200bsp"]
KEYS = ["a", "b", "c", "k", "name", "number", "1", "0", "-0", "true", "false", "null", "~", "yes", "on", "010", "1.5",
        "a b", "é", "<<", "=", "? x", "[a]", "{a: b}", "'a'", '"a"', "'1'", "a:b", "a ", " a", "a#b", "-a", "--", ""]
QUOTE_CHARS = (list("ab 1:#-'\",[]{}&*!|>%@`?") + ["\n", "\n\n", "\n  ", " \n", "é", "''", "yes", "010"]
               + ["a", "b c", "x", "Desk ", "42", ": ", " #", "+39"] * 4)


# What the gate lets through and yet is easy to read wrongly: the whitelisted ints, bools and nulls, IPs, ':' and '#'
# inside scalars, quotes inside plain scalars, non-ASCII.
ADMITTED_PLAIN = ["a", "b", "key", "Desk 4", "x1", "0", "1", "42", "-7", "123456789012345678", "true", "False", "NULL",
                  "null", "~", "10.0.0.1", "0.0.0.0/0", "10.0.0.0/8", "a:b", "http://x:80/y", "a#b", "a,b", "o'neil",
                  'say "hi"', "a - b", "Zoë", "名前", "d0", "user@example.com", "Desk-password-1", "a b  c", "a[b]", "x-"]
ADMITTED_QUOTED = list("1:#-,[]{}&*!|>%@`?'\"") + ["é", "''", "yes", "010", "Desk ", "42", ": ", " #", "+39", "x", "a b",
                                                   "o'neil", "10.0.0.1", "a:b", "a#b", "a,b", "-", "_", ".", "a", "b", " "] * 6


def texts(plains, keys, quoted_characters):
    """Texts from these alphabets: a plain scalar, a key, the characters inside quotes."""

    @st.composite
    def single_quoted(draw):
        body = "".join(draw(st.lists(st.sampled_from(quoted_characters), max_size=6)))
        return "'" + body.replace("'", draw(st.sampled_from(["''", "''", "'"]))) + "'"

    @st.composite
    def double_quoted(draw):
        body = "".join(draw(st.lists(st.sampled_from(quoted_characters), max_size=6)))
        return '"' + (body.replace('"', "").replace("\\", "") if draw(st.booleans()) else body) + '"'

    plain = st.sampled_from(plains)
    scalar = st.one_of(plain, plain, plain, single_quoted(), double_quoted(), st.just(""))
    key = st.one_of(st.sampled_from(keys), st.sampled_from(keys), st.sampled_from(keys), single_quoted(), double_quoted(),
                    st.builds(lambda k, n: k + str(n), st.sampled_from(keys), st.integers(0, 99)))

    def flow(depth):
        if depth <= 0:
            return scalar
        inner = flow(depth - 1)
        sep = st.sampled_from([", ", ", ", ",", " , ", ",\n  ", ", # c\n  "])
        seq = st.builds(lambda items, s, tail: "[" + s.join(items) + tail + "]", st.lists(inner, max_size=3), sep,
                        st.sampled_from(["", "", ",", " "]))
        pair = st.builds(lambda k, c, v: k + c + v, key, st.sampled_from([": ", ": ", ":", ":  "]), inner)
        mapping = st.builds(lambda items, s: "{" + s.join(items) + "}", st.lists(pair, max_size=3), sep)
        return st.one_of(scalar, seq, mapping)

    @st.composite
    def block(draw, indent, depth, sequence=None):
        """Lines of a block mapping or sequence at ``indent`` columns."""
        pad = " " * indent
        step = draw(st.sampled_from([1, 2, 2, 2, 3, 4]))
        lines = []
        if depth > 0 and (draw(st.booleans()) if sequence is None else sequence):
            for _item in range(draw(st.integers(1, 3))):
                lines.append(pad + "-" + draw(entry(indent, step, depth)))
        else:
            for _pair in range(draw(st.integers(1, 4))):
                colon = draw(st.sampled_from([":"] * 20 + [" :", ":  "]))
                lines.append(pad + draw(key) + colon + draw(value(indent, step, depth)))
        return "\n".join(lines)

    @st.composite
    def entry(draw, indent, step, depth):
        kind = draw(st.sampled_from(range(5 if depth > 1 else 3)))
        if kind == 0:
            return " " + draw(scalar) + draw(st.sampled_from(COMMENTS))
        if kind == 1:
            return draw(st.sampled_from([" ", " ", "  "])) + draw(flow(2))
        if kind == 2:
            return draw(st.sampled_from(["", " ", " # c"]))
        if kind == 3:  # a mapping right after '- '
            return " " + draw(block(indent + 2, depth - 1))[indent + 2:]
        return "\n" + draw(block(indent + step, depth - 1))

    @st.composite
    def value(draw, indent, step, depth):
        kind = draw(st.sampled_from(range(6 if depth > 0 else 4)))
        if kind == 0:
            return " " + draw(scalar) + draw(st.sampled_from(COMMENTS))
        if kind == 1:  # a multi-line plain or quoted scalar
            more = draw(st.sampled_from(["\n", "\n", "\n\n", "\n#c\n"])) + " " * (indent + draw(st.integers(0, 3)))
            return " " + draw(st.one_of(plain, plain, single_quoted(), double_quoted())) + more + draw(plain)
        if kind == 2:
            return " " + draw(flow(2)) + draw(st.sampled_from(COMMENTS))
        if kind == 3:
            return draw(st.sampled_from(["", " ", " # c", " ~"]))
        sequence_here = draw(st.sampled_from([True, False, False]))
        return "\n" + draw(block(indent if sequence_here else indent + step, depth - 1))

    @st.composite
    def text(draw):
        top_sequence = draw(RARELY)  # the precise parser's, for the schema to refuse
        body = draw(block(draw(st.sampled_from([0, 0, 0, 1, 2])), draw(st.integers(1, 4)), top_sequence))
        if draw(RARELY):
            body = draw(st.sampled_from(["---\n", "--- \n", "# head\n", "\n", "%YAML 1.1\n---\n", "\ufeff"])) + body
        if draw(RARELY):
            body += draw(st.sampled_from(["\n...\n", "\n---\nx: 1\n", "\n# tail", "\n\n", " ", "\n  "]))
        elif draw(st.booleans()):
            body += "\n"
        return _mutated(draw, body)

    return text()


RARELY = st.sampled_from([False] * 7 + [True])  # integers(0, 7) == 0 is far more often: hypothesis likes 0
COMMENTS = ["", "", "", " # c", " #c", "#c", "  # yes: 010", " # 'q", ' # "q'] * 3 + [" # \x07", " # \u2028", " # \\ \t"]
SAFE_KEYS = ["a", "b", "c", "k", "name", "group", "accounts", "number", "x y", "é", "1", "true", "null"]
# Mostly texts the gate lets through (to prove they read alike), and texts with everything in them (to prove it refuses).
yaml_text = st.one_of(texts(ADMITTED_PLAIN, SAFE_KEYS, ADMITTED_QUOTED), texts(ADMITTED_PLAIN, SAFE_KEYS, ADMITTED_QUOTED),
                      texts(RISKY_PLAIN + ADMITTED_PLAIN, KEYS + SAFE_KEYS, QUOTE_CHARS),
                      texts(RISKY_PLAIN + ODD_CHARACTERS, KEYS, QUOTE_CHARS))


MUTATIONS = list(" \n-:#'\",[]{}?&*!|>") + ["  ", "\n  ", ": ", "- ", "\n- ", "010", "yes", "\t"]


def _mutated(draw, text):
    """Now and then a few random edits: texts that are almost YAML are where one parser may accept what the other
    refuses."""
    for _mutation in range(draw(st.sampled_from([0] * 6 + [1, 2, 3]))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 2))
        text = text[:at] + draw(st.sampled_from(MUTATIONS + [""])) + text[at + cut:]
    return text


def same(a, b):
    """Equal with the same types all the way down (bool is not int, WrittenInt is not int) and the same key order."""
    if a.__class__ is not b.__class__:
        return False
    if a.__class__ is dict:
        return list(a) == list(b) and all(same(a[k], b[k]) and same(k, kb) for k, kb in zip(a, b))
    if a.__class__ is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if a.__class__ is float and math.isnan(a):
        return math.isnan(b)
    return a == b
