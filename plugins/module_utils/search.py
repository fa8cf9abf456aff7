# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Account search (SPEC §6): words AND-ed, each matching a whole word of a field; * and ? wildcards;
``field:pattern`` restricts a word to one field, as in Lucene's query syntax."""

from __future__ import annotations

import fnmatch
import re

SEARCH_FIELDS = ("owner", "username", "callerid", "email", "description")


def _word_matcher(pattern):
    return re.compile(fnmatch.translate(pattern.replace("[", "[[]")), re.IGNORECASE).match


def compile_query(query):
    """Return a predicate over accounts; raises ValueError for an unknown field."""
    terms = []
    for word in query.split():
        field, _colon, pattern = word.rpartition(":") if ":" in word and not word.startswith("+") else ("", "", word)
        if field and field not in SEARCH_FIELDS:
            raise ValueError("unknown search field %r (one of %s)" % (field, ", ".join(SEARCH_FIELDS)))
        terms.append(((field,) if field else SEARCH_FIELDS, _word_matcher(pattern)))

    def matches(account):
        return all(any(match(word) for f in fields for word in str(account.get(f) or "").split())
                   for fields, match in terms)
    return matches
