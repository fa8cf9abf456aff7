# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Work a forked child does on the second core while the run goes on, and its outcome back through a pipe.

The child is forked from the run as it is: copy-on-write, it sees the run's objects as they were at the fork and
nothing it changes reaches the run. It never returns into the run's code, its exit handlers or its database
connection: it pickles what its work returned (or the message of what it raised) into the pipe and ends with
os._exit. It dies with the run (child_process). Used where the work's outcome is small next to its input: the plan
file (a word), the rules across files (their problems and warnings).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal

from .child_process import die_with_parent
from .errors import SwitchboardError


class ForkedWork:
    """start() forks; result() returns what the work returned, or raises SwitchboardError with what it raised;
    abandon() stops a child whose outcome is no longer wanted. Either reaps the child, once."""

    def __init__(self, pid, reading, what):
        self.pid, self._reading, self._what = pid, reading, what

    @classmethod
    def start(cls, work, what):
        """A ForkedWork doing ``work()``, or None when no child can be made (a memory or process limit): the
        caller does the work itself then. ``what`` names the child in the error when it ends without a word."""
        parent = os.getpid()
        reading, writing = os.pipe()
        try:
            pid = os.fork()
        except OSError:
            os.close(reading)
            os.close(writing)
            return None
        if pid == 0:
            try:
                os.close(reading)
                _tell(writing, _outcome(parent, work))
            finally:
                os._exit(0)  # what it has told is its outcome; nothing told is a failure
        os.close(writing)
        return cls(pid, reading, what)

    def result(self):
        """Waits for the child and reaps it, also when the wait is interrupted."""
        reading, self._reading = self._reading, None
        try:
            with os.fdopen(reading, "rb") as pipe:
                told = pipe.read()
        finally:
            _pid, status = os.waitpid(self.pid, 0)
        try:
            returned, value = pickle.loads(told)
        except Exception:  # nothing, or cut short: the child died before it told
            raise SwitchboardError("%s ended without a word (wait status %d)" % (self._what, status))
        if returned:
            return value
        raise SwitchboardError(value)

    def abandon(self):
        """The run failed first: the child is stopped and reaped, unless result() did already."""
        if self._reading is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        os.close(self._reading)
        self._reading = None
        os.waitpid(self.pid, 0)


def _outcome(parent, work):
    """The child's outcome, pickled: (True, what the work returned) or (False, the message of what it raised);
    an exception's own class may not rebuild from its pickle in the run, its message always does."""
    try:
        die_with_parent(parent)
        outcome = (True, work())
    except SwitchboardError as exc:
        outcome = (False, str(exc))
    except Exception as exc:
        outcome = (False, "%s: %s" % (type(exc).__name__, exc))
    try:
        return pickle.dumps(outcome, pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        return pickle.dumps((False, "its outcome could not be sent: %s: %s" % (type(exc).__name__, exc)))


def _tell(pipe, told):
    with contextlib.suppress(OSError):
        view = memoryview(told)
        while view:
            view = view[os.write(pipe, view):]
