"""Search (SPEC §6) in Lucene's query syntax: whole words, AND, * and ? wildcards, phrases, boolean
operators, fields, numbers; everything else refused with the reason."""

import re
import time

import pytest
from hypothesis import assume, given, settings, strategies as st

from ansible_collections.switchboard.pbx.plugins.module_utils.search import compile_query, fold

PEOPLE = [{"owner": "Marco Rossi", "email": "marco.rossi@rossi-logistica.example", "number": "+393471234567",
           "secondary_number": "+390298765401", "additional_numbers": []},
          {"owner": "Marco Bianchi", "email": "mb@example.com", "description": "Sales, North", "number": "+393489876543",
           "additional_numbers": ["+390298765402"]},
          {"owner": "Giulio Marconi", "email": "giulio@example.com", "username": "5003", "number": "111",
           "callerid": "Giulio M."},
          {"owner": "Niccolò Ferrari", "description": "A/B test", "number": "+390212345601"}]


def owners(query):
    match = compile_query(query)
    return [p["owner"] for p in PEOPLE if match(p)]


@pytest.mark.parametrize("query, expected", [
    # SPEC §6's own examples
    ("Marco", ["Marco Rossi", "Marco Bianchi"]),
    ("Marco*", ["Marco Rossi", "Marco Bianchi", "Giulio Marconi"]),
    ("Marco??", ["Giulio Marconi"]),
    ("email:marco*", ["Marco Rossi"]),
    ("marco sales", ["Marco Bianchi"]),
    ("username:5003", ["Giulio Marconi"]),
    ("Rossi Bianchi", []),
    # phrases
    ('"Marco Rossi"', ["Marco Rossi"]),
    ('"Rossi Marco"', []),
    ('owner:"marco bianchi"', ["Marco Bianchi"]),
    ('email:"marco rossi"', ["Marco Rossi"]),
    ('"marco ros*"', ["Marco Rossi"]),
    ('"bianchi sales"', []),  # a phrase never runs from one field (owner) into the next (description)
    # words split on punctuation, in the fields and in the query
    ("rossi", ["Marco Rossi"]),
    ("logistica", ["Marco Rossi"]),
    ("marco.rossi@rossi-logistica.example", ["Marco Rossi"]),
    ("email:*rossi*", ["Marco Rossi"]),
    ("north", ["Marco Bianchi"]),
    ("a/b", ["Niccolò Ferrari"]),
    ("callerid:m", ["Giulio Marconi"]),
    # case and accents
    ("NICCOLO", ["Niccolò Ferrari"]),
    ("niccolò", ["Niccolò Ferrari"]),
    # boolean operators, prefixes, parentheses
    ("Marco AND Rossi", ["Marco Rossi"]),
    ("Rossi OR Giulio", ["Marco Rossi", "Giulio Marconi"]),
    ("Marco AND NOT Rossi", ["Marco Bianchi"]),
    ("Marco NOT Rossi", ["Marco Bianchi"]),
    ("Marco -Rossi", ["Marco Bianchi"]),
    ("+Marco -Rossi", ["Marco Bianchi"]),
    ("marco && !rossi", ["Marco Bianchi"]),
    ("rossi || giulio", ["Marco Rossi", "Giulio Marconi"]),
    ("-Marco", ["Giulio Marconi", "Niccolò Ferrari"]),
    ("NOT marco*", ["Niccolò Ferrari"]),
    ("(Rossi OR Giulio) AND marco*", ["Marco Rossi", "Giulio Marconi"]),
    ("owner:(rossi OR bianchi)", ["Marco Rossi", "Marco Bianchi"]),
    ("giulio OR marco AND bianchi", ["Marco Bianchi", "Giulio Marconi"]),  # AND binds tighter than OR
    # numbers: primary, secondary and additional, bare or field-qualified
    ("+393471234567", ["Marco Rossi"]),
    ("number:+393471234567", ["Marco Rossi"]),
    ("number:+39347*", ["Marco Rossi"]),
    ("+390298765401", ["Marco Rossi"]),
    ("number:+390298765402", ["Marco Bianchi"]),
    ("number:111", ["Giulio Marconi"]),
    ("number:+3902*", ["Marco Rossi", "Marco Bianchi", "Niccolò Ferrari"]),
    ('"+39 347 123 4567"', ["Marco Rossi"]),
    ('number:"+39 02 9876 540?"', ["Marco Rossi", "Marco Bianchi"]),
    ("+39 347 123 4567", []),  # four words, each a whole word of some field: none is
    # escapes
    (r"\AND", []),
    (r"marco\.rossi", ["Marco Rossi"]),
])
def test_search(query, expected):
    assert owners(query) == expected


@pytest.mark.parametrize("query, message", [
    ("marco~", "fuzzy and proximity searches ('~') are not supported (character 6)"),
    ('"marco rossi"~2', "fuzzy and proximity searches ('~') are not supported (character 14)"),
    ("marco^2", "boosts ('^') are not supported: every match counts the same (character 6)"),
    ("[a TO z]", "ranges ('[a TO b]', '{a TO b}') are not supported (character 1)"),
    ("owner:{a TO z}", "ranges ('[a TO b]', '{a TO b}') are not supported (character 7)"),
    ("/mar.*/", "regular expressions ('/.../') are not supported: use the wildcards * and ? (character 1)"),
    ('"marco rossi', "the quote at character 1 is not closed"),
    ('owner:"marco', "the quote at character 7 is not closed"),
    ("(marco OR giulio", "the '(' at character 1 is not closed"),
    ("marco)", "the ')' at character 6 closes nothing"),
    ("()", "the parentheses at character 1 hold nothing"),
    ("marco AND", "'AND' at character 7 has no term after it"),
    ("AND marco", "'AND' at character 1 has no term before it"),
    ("marco OR OR giulio", "'OR' at character 7 has no term after it"),
    ("marco NOT", "'NOT' at character 7 has no term after it"),
    ("marco -", "'-' at character 7 has no term after it"),
    ("email:", "'email:' at character 1 has no term after it"),
    ("email: OR x", "'email:' at character 1 has no term after it"),
    ("phone:1*", "unknown search field 'phone' (one of owner, username, callerid, email, description, number; "
                 "write \\: to search a colon)"),
    ("12:30", "unknown search field '12'"),
    ("marco and rossi", "'and' at character 7: write AND in capitals for the operator, or quote it to search the word"),
    ("@", "'@' at character 1 has no letter or digit to search for"),
    ('""', "'\"\"' at character 1 has no letter or digit to search for"),
    ("marco\\", "the '\\' at character 6 escapes nothing"),
    ("", "the query is empty"),
    ("   ", "the query is empty"),
])
def test_unsupported_or_malformed_syntax_is_refused(query, message):
    with pytest.raises(ValueError) as refused:
        compile_query(query)
    assert str(refused.value).startswith(message)


WORDS = st.text(st.characters(whitelist_categories=("Lu", "Ll", "Nd")), min_size=1, max_size=8)
TEXT = st.lists(st.tuples(WORDS, st.sampled_from([" ", ".", "@", "-", ", ", "/"])), min_size=1, max_size=5)


@settings(max_examples=200, deadline=None)
@given(TEXT, st.data())
def test_every_word_of_a_field_finds_the_account(parts, data):
    """Whatever the punctuation, a word of a field, typed alone, as a phrase or field-qualified, finds it."""
    text = "".join(word + separator for word, separator in parts)
    account = {"owner": text, "number": "+393471234567"}
    word = data.draw(st.sampled_from([w for w, _s in parts]))
    folded = fold(word)  # case folding may change the length: 'ß' is 'ss'
    assume(not re.fullmatch(r"(?i)and|or|not", word) and re.fullmatch(r"[^\W_]+", folded))
    for query in (word, '"%s"' % word, "owner:%s" % word, folded[:1] + "*", "owner:" + "?" * len(folded)):
        assert compile_query(query)(account), query
    assert compile_query('"%s"' % text.replace('"', " "))(account)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_any_query_either_compiles_or_says_why(query):
    """Never a crash and never an exception other than the ValueError that carries the reason."""
    try:
        match = compile_query(query)
    except ValueError as refused:
        assert str(refused)
    else:
        for person in PEOPLE:
            match(person)


def whole_word_phrase(text, patterns):
    """The reference: split into words, then each pattern fullmatches the next word (fnmatch-style)."""
    found = re.findall(r"[^\W_]+", fold(text))

    def matches(pattern, word):
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        return re.fullmatch(regex, word, re.DOTALL) is not None
    return any(all(matches(p, w) for p, w in zip(patterns, found[start:start + len(patterns)]))
               for start in range(len(found) - len(patterns) + 1))


@settings(max_examples=500, deadline=None)
@given(st.text("ab1É .-@", max_size=20), st.lists(st.text("ab1é*?", min_size=1, max_size=7), min_size=1, max_size=3))
def test_phrases_and_wildcards_match_like_whole_words(text, patterns):
    query = 'owner:"%s"' % " ".join(patterns)
    assert compile_query(query)({"owner": text}) == whole_word_phrase(text, [fold(p) for p in patterns]), query


def test_many_wildcards_stay_fast():
    """A backtracking translation takes minutes here (each '*' retried at every place)."""
    match = compile_query("*a" * 12 + "*b")
    started = time.monotonic()
    assert not match({"owner": "ab" + "a" * 40 + "bc"})
    assert match({"owner": "ab" + "a" * 40 + "b"})
    assert time.monotonic() - started < 0.1
