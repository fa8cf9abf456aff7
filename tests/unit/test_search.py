"""Search (SPEC §6): whole words, AND, * and ? wildcards, field:pattern."""

import pytest

from ansible_collections.switchboard.pbx.plugins.module_utils.search import compile_query

PEOPLE = [{"owner": "Marco Rossi", "email": "marco.rossi@example.com"},
          {"owner": "Marco Bianchi", "email": "mb@example.com", "description": "Sales"},
          {"owner": "Giulio Marconi", "email": "giulio@example.com", "username": "5003"}]


def owners(query):
    match = compile_query(query)
    return [p["owner"] for p in PEOPLE if match(p)]


@pytest.mark.parametrize("query, expected", [
    ("Marco", ["Marco Rossi", "Marco Bianchi"]),
    ("Marco*", ["Marco Rossi", "Marco Bianchi", "Giulio Marconi"]),
    ("Marco??", ["Giulio Marconi"]),
    ("marco sales", ["Marco Bianchi"]),
    ("email:marco*", ["Marco Rossi"]),
    ("username:5003", ["Giulio Marconi"]),
    ("Rossi Bianchi", []),
])
def test_search(query, expected):
    assert owners(query) == expected


def test_unknown_field():
    with pytest.raises(ValueError, match="unknown search field 'phone'"):
        compile_query("phone:1*")
