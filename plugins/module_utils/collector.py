# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Python's cyclic garbage collector, paused while bulk work builds objects that all live on.

Reading the platform builds millions of dicts, tuples and strings (100k accounts, 100k numbers, their Kamailio
rows) that live until the run ends and form no reference cycles. Each allocation counts towards the collector's
next pass, and each pass walks every object built so far: at 30k accounts that was ~40% of the read, and more
in a process that already holds the declared state. Nothing it could free is built here, so it waits until the
bulk work is done; reference counting frees everything else as usual meanwhile.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def paused():
    """The collector off for the body, back as it was afterwards (also when the body raises)."""
    if not gc.isenabled():  # an outer pause: it turns the collector back on
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
