# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wall time per phase of one run (make bench's breakdown): a pair of time.monotonic() calls per phase.

Kept per process: the loader forked by engine.run measures its phases in its own copy and sends them back
with its result (timed_call)."""

from __future__ import annotations

import contextlib
import time

_SPENT = {}
PARALLEL = " (in parallel)"


@contextlib.contextmanager
def phase(name):
    started = time.monotonic()
    try:
        yield
    finally:
        add({name: time.monotonic() - started})


def add(spent):
    for name, seconds in spent.items():
        _SPENT[name] = _SPENT.get(name, 0.0) + seconds


def taken():
    """The phases measured in this process since the last call (then forgotten), in seconds."""
    spent = {name: round(seconds, 3) for name, seconds in _SPENT.items()}
    _SPENT.clear()
    return spent


def timed_call(function, *args, **kwargs):
    """In a child process: (function's result, the phases it measured)."""
    taken()
    return function(*args, **kwargs), taken()


def unpacked(future):
    """In the parent: the result of a timed_call future, its phases added to this process's, marked as
    PARALLEL (they overlapped the parent's own: only the wait for them adds to the total)."""
    result, spent = future.result()
    add({name + PARALLEL: seconds for name, seconds in spent.items()})
    return result
