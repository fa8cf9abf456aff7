"""forked_work: a forked child's outcome comes back through a pipe, what it raised as a SwitchboardError with its
message; a child that dies without a word, or whose outcome is no longer wanted, is reaped; no fork, no child."""

import os
import signal
import time

import pytest

from ansible_collections.switchboard.pbx.plugins.module_utils import forked_work
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import SwitchboardError
from ansible_collections.switchboard.pbx.plugins.module_utils.forked_work import ForkedWork


def reaped(pid):
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return True


def test_the_child_returns_its_work_done_in_its_own_process():
    parent = os.getpid()
    child = ForkedWork.start(lambda: (os.getpid(), os.getppid(), ["a"] * 100000), "a test child")
    pid, its_parent, big = child.result()  # bigger than a pipe's buffer
    assert pid == child.pid != parent and its_parent == parent and len(big) == 100000
    assert reaped(child.pid)


def test_what_the_work_raised_comes_back_as_its_message():
    def failing():
        raise SwitchboardError("the report directory is full")
    with pytest.raises(SwitchboardError, match="^the report directory is full$"):
        ForkedWork.start(failing, "a test child").result()

    def buggy():
        return {}["missing"]
    with pytest.raises(SwitchboardError, match="^KeyError: 'missing'$"):
        ForkedWork.start(buggy, "a test child").result()

    with pytest.raises(SwitchboardError, match="its outcome could not be sent: .*lambda"):
        ForkedWork.start(lambda: (lambda: None), "a test child").result()


def test_a_child_that_dies_without_a_word_is_named_and_reaped():
    child = ForkedWork.start(lambda: os.kill(os.getpid(), signal.SIGKILL), "the test's writer")
    with pytest.raises(SwitchboardError, match=r"the test's writer ended without a word \(wait status 9\)"):
        child.result()
    assert reaped(child.pid)


def test_an_abandoned_child_is_stopped_and_reaped_at_once(tmp_path):
    started = time.monotonic()
    marker = tmp_path / "finished"
    child = ForkedWork.start(lambda: time.sleep(30) or marker.write_text("done"), "a test child")
    child.abandon()
    assert reaped(child.pid) and not marker.exists() and time.monotonic() - started < 10
    child.abandon()  # once is enough


def test_no_child_when_none_can_be_made(monkeypatch):
    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")
    monkeypatch.setattr(forked_work.os, "fork", no_fork)
    assert ForkedWork.start(lambda: 1, "a test child") is None
