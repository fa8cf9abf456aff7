# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Wall time per phase of one run (make bench's breakdown): a pair of time.monotonic() calls per phase.
A phase that overlapped another one (the file checks while the platform is read) is named with PARALLEL."""

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
