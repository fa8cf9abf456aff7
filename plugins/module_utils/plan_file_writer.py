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
import os

from . import report
from .child_process import die_with_parent
from .errors import SwitchboardError

FORKED_FROM_CHANGES = 20000  # below this, describing the changes costs less than a fork (~0.1 s at 100k accounts)
_OK, _FAILED = b"ok\n", b"failed\n"


class PlanFileWriting:
    """Starts writing the plan file ``path`` (report.write_plan_file) of ``changes``; finish() returns once it is
    written and raises SwitchboardError when it could not be: call it before the commit. Used as a context
    manager, it waits for the child when the run fails before finish()."""

    def __init__(self, path, changes, counts, meta, keep, descriptions=None):
        """``descriptions``: report.describe of every change, when the caller has them already (a saved plan's
        checkpoint): the run writes the file itself then."""
        self._child = self._reading = None
        if descriptions is None and len(changes) >= FORKED_FROM_CHANGES:
            self._child = self._forked(path, changes, counts, meta, keep)
        if self._child is None:
            described = descriptions if descriptions is not None else [report.describe(c) for c in changes]
            report.write_plan_file(path, described, counts, meta, keep)

    def _forked(self, path, changes, counts, meta, keep):
        """The child's pid, or None when no child could be made (a memory or process limit): the run writes then."""
        parent = os.getpid()
        self._reading, writing = os.pipe()
        try:
            child = os.fork()
        except OSError:
            os.close(self._reading)
            os.close(writing)
            self._reading = None
            return None
        if child == 0:  # the child never returns into the run's code, its exit handlers or its database connection
            try:
                os.close(self._reading)
                _tell(writing, _written(parent, path, changes, counts, meta, keep))
            finally:
                os._exit(0)  # what it has told is its outcome; nothing told is a failure
        os.close(writing)
        return child

    def finish(self):
        if self._child is None:
            return
        try:
            with os.fdopen(self._reading, "rb") as pipe:
                told = pipe.read()
        finally:  # also when the wait is interrupted: the child is reaped, once
            _pid, status = os.waitpid(self._child, 0)
            self._child = None
        if told == _OK:
            return
        if told.startswith(_FAILED):
            raise SwitchboardError(told[len(_FAILED):].decode("utf-8", "replace"))
        raise SwitchboardError("the plan file's writer ended without a word (wait status %d): nothing was written"
                               % status)

    def __enter__(self):
        return self

    def __exit__(self, *failed):
        with contextlib.suppress(SwitchboardError):  # the run's own error is the story; the child is reaped
            self.finish()


def _written(parent, path, changes, counts, meta, keep):
    """The child's work: what it tells the run."""
    try:
        die_with_parent(parent)
        report.write_plan_file(path, [report.describe(c) for c in changes], counts, meta, keep)
        return _OK
    except SwitchboardError as exc:
        return _FAILED + str(exc).encode("utf-8", "replace")
    except Exception as exc:  # the run reports it
        return _FAILED + ("the plan file %s was not written: %s: %s" % (path, type(exc).__name__, exc)).encode(
            "utf-8", "replace")


def _tell(pipe, told):
    with contextlib.suppress(OSError):
        view = memoryview(told)
        while view:
            view = view[os.write(pipe, view):]
