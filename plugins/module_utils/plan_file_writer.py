# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A big plan's file is written by a forked child while the run writes the platform.

The plan file describes every change: at 100k accounts 210k of them (74 MB), ~1 s to describe and encode,
~15 s at 1M, on one core while the other waits for the database's write, which needs none of it. The child
is forked once the plan is final (copy-on-write: it sees the changes as planned), writes the file and tells
through a pipe that it did, or why it could not. The run waits for it before its commit, so a plan file that
cannot be written still stops the apply with nothing written; when the write fails, the file is complete
all the same, as it was when it came first. A small plan's file is written in the run's own process.
"""

from __future__ import annotations

import contextlib

from . import report
from .errors import SwitchboardError
from .forked_work import ForkedWork

FORKED_FROM_CHANGES = 20000  # below this, describing the changes costs less than a fork (~0.1 s at 100k accounts)


class PlanFileWriting:
    """Starts writing the plan file ``path`` (report.write_plan_file) of ``changes``; finish() returns once it is
    written and raises SwitchboardError when it could not be: call it before the commit. Used as a context
    manager, it waits for the child when the run fails before finish()."""

    def __init__(self, path, changes, counts, meta, keep, descriptions=None):
        """``descriptions``: report.describe of every change, when the caller has them already (a saved plan's
        checkpoint): the run writes the file itself then. When no child can be made (a memory or process limit),
        the run writes it too."""
        self._child = None
        if descriptions is None and len(changes) >= FORKED_FROM_CHANGES:
            self._child = ForkedWork.start(lambda: _written(path, changes, counts, meta, keep),
                                           "the plan file's writer")
        if self._child is None:
            described = descriptions if descriptions is not None else [report.describe(c) for c in changes]
            report.write_plan_file(path, described, counts, meta, keep)

    def finish(self):
        child, self._child = self._child, None
        if child is not None:
            child.result()

    def __enter__(self):
        return self

    def __exit__(self, *failed):
        with contextlib.suppress(SwitchboardError):  # the run's own error is the story; the child is reaped
            self.finish()


def _written(path, changes, counts, meta, keep):
    """The child's work."""
    try:
        report.write_plan_file(path, [report.describe(c) for c in changes], counts, meta, keep)
    except SwitchboardError:
        raise
    except Exception as exc:  # the run reports it
        raise SwitchboardError("the plan file %s was not written: %s: %s" % (path, type(exc).__name__, exc))
