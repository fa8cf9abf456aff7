# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compact JSON with sorted keys: the project's data columns and the plan file.

An apply of 100k accounts with their numbers and devices encodes 210k data columns and one plan file of 210k
changes. orjson (Rust) encodes them ~6x faster than the standard library's C encoder (measured: 100k account
documents, 0.81 s against 0.13 s), so it does when the host has it. It is asked to refuse whatever the standard
library refuses (dataclasses such as a !vault value, dates) and refuses on its own what it cannot encode (a key
that is not text, an integer beyond 64 bits): the standard library then encodes it, or refuses it as before.
Either way the text parses to the same data; only non-ASCII characters are spelled differently (UTF-8 here,
``\\u`` escapes there)."""

from __future__ import annotations

import functools
import json

_STANDARD = json.JSONEncoder(sort_keys=True, separators=(",", ":"))  # one encoder: json.dumps makes one per call


@functools.lru_cache(maxsize=None)
def _fast():
    """(orjson.dumps, its options, the option that sorts keys) or None."""
    try:
        import orjson
    except ImportError:
        return None
    return orjson.dumps, orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME, orjson.OPT_SORT_KEYS


def _orjson(value, default=None, sort_keys=True):
    """``value`` as UTF-8 JSON text by orjson, or None: no orjson here, or a value it leaves to the standard library."""
    fast = _fast()
    if fast is None:
        return None
    dumps, options, sorted_keys = fast
    try:
        return dumps(value, default=default, option=options | sorted_keys if sort_keys else options)
    except TypeError:  # orjson.JSONEncodeError: the standard library decides
        return None


def compact_bytes(value):
    """``value`` as UTF-8 JSON text."""
    text = _orjson(value)
    return text if text is not None else _STANDARD.encode(value).encode("utf-8")


def in_order_bytes(value, default):
    """``value`` as UTF-8 JSON text with every mapping's keys in their order (the parse cache's entries read back as
    they were written); ``default`` is json.dumps's: it encodes what JSON has no type for."""
    text = _orjson(value, default, sort_keys=False)
    return text if text is not None else json.dumps(value, default=default, separators=(",", ":")).encode("utf-8")


def compact(value):
    """``value`` as JSON text."""
    text = _orjson(value)
    return text.decode("utf-8") if text is not None else _STANDARD.encode(value)


def compact_each(values):
    """[compact(value) for value in values], with one lookup of the encoder for all: a write encodes 200k
    documents at 100k accounts."""
    fast = _fast()
    if fast is None:
        return [compact(value) for value in values]
    dumps, options, sorted_keys = fast
    options |= sorted_keys
    texts = []
    for value in values:
        try:
            texts.append(dumps(value, option=options).decode("utf-8"))
        except TypeError:  # orjson.JSONEncodeError: the standard library decides
            texts.append(_STANDARD.encode(value))
    return texts
