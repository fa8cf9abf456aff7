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

    def __init__(self, path, changes, counts, meta, keep):
        self._child = self._reading = None
        if len(changes) >= FORKED_FROM_CHANGES:
            self._child = self._forked(path, changes, counts, meta, keep)
        if self._child is None:
            report.write_plan_file(path, [report.describe(c) for c in changes], counts, meta, keep)

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
        if child == 0:
            try:  # whatever happens here, the child never goes back into the run's code
                os.close(self._reading)
                _write_and_tell(parent, writing, path, changes, counts, meta, keep)
            finally:
                os._exit(1)
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


def _write_and_tell(parent, pipe, path, changes, counts, meta, keep):
    """The child: it never returns, never runs the parent's exit handlers and never touches its database
    connection."""
    told = _FAILED + b"the plan file's writer stopped before it finished"
    try:
        die_with_parent(parent)
        report.write_plan_file(path, [report.describe(c) for c in changes], counts, meta, keep)
        told = _OK
    except SwitchboardError as exc:
        told = _FAILED + str(exc).encode("utf-8", "replace")
    except BaseException as exc:  # the run reports it: the child must end here whatever happened
        told = _FAILED + ("the plan file %s was not written: %s: %s" % (path, type(exc).__name__, exc)).encode(
            "utf-8", "replace")
    finally:
        with contextlib.suppress(OSError):
            view = memoryview(told)
            while view:
                view = view[os.write(pipe, view):]
        os._exit(0)
