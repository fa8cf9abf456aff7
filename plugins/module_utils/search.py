# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Account search (SPEC §6) in the part of Lucene's query parser syntax that fits it.

Supported: words (all must match, SPEC's AND), ``*`` and ``?`` wildcards (in phrases too),
``"quoted phrases"``, ``AND``/``OR``/``NOT`` (also ``&&``, ``||``, ``!``), ``+``/``-`` prefixes,
parentheses, ``field:word``, ``field:"phrase"``, ``field:(a OR b)`` and backslash escapes.
Text is split into words at every character that is not a letter or a digit, in the fields and in
the query alike, so ``rossi`` finds ``marco.rossi@x.it`` and ``marco.rossi@x.it`` is the phrase of its
words. Case and accents are ignored. Numbers are searched as their digits: ``+393471234567``,
``"+39 347 123 4567"`` and ``number:+39347*`` find the account by any of its numbers.

Where Lucene would silently match nothing, this search answers or refuses: a query of only NOT terms
matches every account but those; lower-case and/or/not are refused (operators are capitals). Fuzzy
``~``, boosts ``^``, ranges and regular expressions are refused with a ValueError that says why.
"""

from __future__ import annotations

import itertools
import re
import unicodedata

SEARCH_FIELDS = ("owner", "username", "callerid", "email", "description", "number")
NUMBER_FIELDS = ("number", "secondary_number", "additional_numbers")  # the "number" field: all of an account's numbers

_PATTERN_WORD = re.compile(r"(?:[^\W_]|[*?])+")
_OPERATORS = {"AND": "AND", "&&": "AND", "OR": "OR", "||": "OR", "NOT": "NOT", "!": "NOT"}
_UNSUPPORTED = {
    "~": "fuzzy and proximity searches ('~') are not supported",
    "^": "boosts ('^') are not supported: every match counts the same",
    "[": "ranges ('[a TO b]', '{a TO b}') are not supported",
    "/": "regular expressions ('/.../') are not supported: use the wildcards * and ?",
}
_UNSUPPORTED.update({"]": _UNSUPPORTED["["], "{": _UNSUPPORTED["["], "}": _UNSUPPORTED["["]})
_TERM_END = set(' \t\r\n()":')


def fold(text):
    """Lower case without accents: 'Niccolò' and 'niccolo' are one word."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


class _Token:
    def __init__(self, kind, text, position, shown=None):
        self.kind, self.text, self.position = kind, text, position  # position: 1-based character
        self.shown = text if shown is None else shown  # as written, escapes included

    def where(self):
        return "%r at character %d" % (self.shown, self.position)


def _escaped(char):
    """An escaped * or ? is a literal, and a literal one is no letter or digit: it only separates words."""
    return " " if char in "*?" else char


def _lex(query):
    tokens, i = [], 0
    while i < len(query):
        char = query[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, char, i + 1))
            i += 1
        elif char == '"':
            i = _lex_phrase(query, i, tokens)
        elif query[i:i + 2] in ("&&", "||"):
            tokens.append(_Token("OP", query[i:i + 2], i + 1))
            i += 2
        elif char in "+-!":
            tokens.append(_Token("OP" if char == "!" else "MOD", char, i + 1))
            i += 1
        elif char in _UNSUPPORTED:
            raise ValueError("%s (character %d)" % (_UNSUPPORTED[char], i + 1))
        else:
            i = _lex_term(query, i, tokens)
    return tokens


def _lex_phrase(query, start, tokens):
    i, text = start + 1, []
    while i < len(query) and query[i] != '"':
        if query[i] == "\\" and i + 1 < len(query):
            i += 1
            text.append(_escaped(query[i]))
        else:
            text.append(query[i])
        i += 1
    if i == len(query):
        raise ValueError("the quote at character %d is not closed" % (start + 1))
    tokens.append(_Token("PHRASE", "".join(text), start + 1, query[start:i + 1]))
    return i + 1


def _lex_term(query, start, tokens):
    """A bare word, a field name (followed by ':') or an operator word; a leading '+' after a field's ':'
    belongs to the term (number:+39...)."""
    i, text = start, []
    while i < len(query) and query[i] not in _TERM_END:
        char = query[i]
        if char == "\\":
            if i + 1 == len(query):
                raise ValueError("the '\\' at character %d escapes nothing" % (i + 1))
            i += 1
            text.append(_escaped(query[i]))
        elif char in _UNSUPPORTED and char != "/":  # a '/' inside a word is punctuation (A/B); at its start, a regex
            raise ValueError("%s (character %d)" % (_UNSUPPORTED[char], i + 1))
        else:
            text.append(char)
        i += 1
    shown = query[start:i]
    if i < len(query) and query[i] == ":":
        tokens.append(_Token("FIELD", "".join(text), start + 1, shown + ":"))
        return i + 1
    tokens.append(_Token("OP" if shown in _OPERATORS else "TERM", "".join(text), start + 1, shown))
    return i


class _Parser:
    """expr := and (OR and)* ; and := unary ([AND] unary)* ; unary := (NOT|-|+) unary | primary ;
    primary := '(' expr ')' | FIELD ':' (TERM | PHRASE | '(' expr ')') | TERM | PHRASE"""

    def __init__(self, tokens):
        self.tokens, self.at = tokens, 0

    def peek(self):
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self):
        token = self.peek()
        self.at += 1
        return token

    def is_op(self, name):
        token = self.peek()
        return token is not None and token.kind == "OP" and _OPERATORS[token.text] == name

    def parse(self):
        if not self.tokens:
            raise ValueError("the query is empty")
        node = self.expr(SEARCH_FIELDS)
        if self.peek() is not None:
            token = self.peek()
            raise ValueError("the ')' at character %d closes nothing" % token.position)
        return node

    def expr(self, fields):
        nodes = [self.conjunction(fields)]
        while self.is_op("OR"):
            self.expect_operand(self.take())
            nodes.append(self.conjunction(fields))
        return nodes[0] if len(nodes) == 1 else (lambda index: any(n(index) for n in nodes))

    def conjunction(self, fields):
        nodes = [self.unary(fields)]
        while self.peek() is not None and self.peek().kind != ")" and not self.is_op("OR"):
            if self.is_op("AND"):
                self.expect_operand(self.take())
            nodes.append(self.unary(fields))
        return nodes[0] if len(nodes) == 1 else (lambda index: all(n(index) for n in nodes))

    def unary(self, fields):
        token = self.peek()
        if token is not None and (token.kind == "MOD" or self.is_op("NOT")):
            self.take()
            self.expect_operand(token)
            operand = self.unary(fields)
            return operand if token.text == "+" else (lambda index: not operand(index))
        return self.primary(fields)

    def expect_operand(self, operator):
        token = self.peek()
        if token is None or token.kind == ")" or (token.kind == "OP" and _OPERATORS[token.text] in ("AND", "OR")):
            raise ValueError("%s has no term after it" % operator.where())

    def primary(self, fields):
        token = self.take()
        if token is None or token.kind == ")" or token.kind == "OP":
            if token is not None and token.kind == "OP":
                raise ValueError("%s has no term before it" % token.where())
            raise ValueError("the query ends where a term is expected" if token is None
                             else "the ')' at character %d closes nothing" % token.position)
        if token.kind == "(":
            if self.peek() is not None and self.peek().kind == ")":
                raise ValueError("the parentheses at character %d hold nothing" % token.position)
            node = self.expr(fields)
            if self.take() is None:
                raise ValueError("the '(' at character %d is not closed" % token.position)
            return node
        if token.kind == "FIELD":
            return self.field(token)
        return _term(token, fields)

    def field(self, token):
        if token.text not in SEARCH_FIELDS:
            raise ValueError("unknown search field %r (one of %s; write \\: to search a colon)"
                             % (token.text, ", ".join(SEARCH_FIELDS)))
        following = self.peek()
        if following is not None and following.kind == "MOD" and following.text == "+":
            self.take()  # number:+39...: the '+' of an E.164 number, not Lucene's "required"
            following = self.peek()
        if following is None or following.kind not in ("TERM", "PHRASE", "("):
            raise ValueError("%s has no term after it" % token.where())
        return self.primary((token.text,))


def _term(token, fields):
    if token.kind == "TERM" and token.shown.lower() in ("and", "or", "not") and fields == SEARCH_FIELDS:
        raise ValueError("%s: write %s in capitals for the operator, or quote it to search the word"
                         % (token.where(), token.text.upper()))
    patterns = _PATTERN_WORD.findall(fold(token.text))
    if not patterns:
        raise ValueError("%s has no letter or digit to search for" % token.where())
    number = ("number", _phrase(["".join(patterns)]))  # "+39 347 123 4567" is one number: its digits are one word
    if fields == SEARCH_FIELDS:
        searches = [(_ALL_TEXT, _phrase(patterns)), number]
    else:
        searches = [number if fields == ("number",) else (fields[0], _phrase(patterns))]
    return lambda text: any(search(text[field]) for field, search in searches)


_LETTER = r"[^\W_]"  # a letter or a digit: what words are made of


def _phrase(patterns):
    """One regular expression for consecutive whole words (a phrase; one word is a phrase of one), searched
    in the folded text at C speed: '*' is any letters or digits, '?' one, and each word has at least one."""
    groups = itertools.count()
    body = r"(?:[^\w\0]|_)+".join(_word(p, groups) for p in patterns)  # never across \0, from one field into the next
    return re.compile(r"(?<!%s)%s(?!%s)" % (_LETTER, body, _LETTER)).search


def _word(pattern, groups):
    """A segment between two stars matches at its first place, never retried: a lookahead captures it and a
    back-reference consumes it (an atomic group, as fnmatch builds it), so '*a*a*a*a*b' stays linear."""
    def fixed(segment):
        return "".join(_LETTER if c == "?" else re.escape(c) for c in segment)
    segments = pattern.split("*")
    regex = "(?=%s)%s" % (_LETTER, fixed(segments[0]))
    for segment in segments[1:-1]:
        if segment:
            name = "s%d" % next(groups)
            regex += "(?=(?P<%s>%s*?%s))(?P=%s)" % (name, _LETTER, fixed(segment), name)
    if len(segments) > 1:
        regex += "%s*%s" % (_LETTER, fixed(segments[-1]))
    return regex


_ALL_TEXT = "*"  # every field but "number", apart: one search instead of five


class _Text(dict):
    """An account's folded text per field, made only when the query asks for the field; the "number" field
    holds all the account's numbers."""

    def __init__(self, account):
        super().__init__()
        self.account = account

    def __missing__(self, field):
        if field == "number":
            values = [self.account.get(f) or [] for f in NUMBER_FIELDS]
            text = " ".join(n for value in values for n in ([value] if isinstance(value, str) else value))
        elif field == _ALL_TEXT:
            text = fold("\0".join(str(self.account.get(f) or "") for f in SEARCH_FIELDS if f != "number"))
        else:
            text = fold(str(self.account.get(field) or ""))
        self[field] = text
        return text


def compile_query(query):
    """Return a predicate over accounts (declared form); raises ValueError, with the reason, for a query
    this search does not understand."""
    node = _Parser(_lex(query)).parse()
    return lambda account: bool(node(_Text(account)))
