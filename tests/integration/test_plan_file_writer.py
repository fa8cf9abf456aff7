"""A big plan's file is written by a forked child while the run writes the platform (plan_file_writer): the same
file as the run writes itself, written before the commit, and a file that cannot be written still stops the apply
with nothing written. Real SQLite and PostgreSQL; the threshold is lowered so that a small plan forks."""

import json
import os
import pathlib

import pytest

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine, forked_work, plan_file_writer
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import SwitchboardError
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx import store

STATE = {"groups": [{"name": "office"}], "numbers": [{"number": "+390212345601"}],
         "accounts": [{"number": "+39021234560%d" % i, "group": "office", "type": "snom", "username": "700%d" % i,
                       "password": "Desk-560%d-pw" % i, "owner": "Desk %d" % i} for i in range(1, 6)]}


@pytest.fixture
def forks(monkeypatch):
    """Every plan forks its writer; returns, for each plan file started, the pid of the child that writes it
    (None: the run writes it itself)."""
    started = []
    real = plan_file_writer.PlanFileWriting.__init__

    def init(self, *args):
        real(self, *args)
        started.append(self._child and self._child.pid)
    monkeypatch.setattr(plan_file_writer, "FORKED_FROM_CHANGES", 0)
    monkeypatch.setattr(plan_file_writer.PlanFileWriting, "__init__", init)
    return started


def apply(tmp_path, dsn, name, accounts=5):
    state = write_state(tmp_path / "state", {"s.yml": dict(STATE, accounts=STATE["accounts"][:accounts])})
    return engine.run(engine.Options(str(state), dsn, SIP_DOMAIN, report_dir=str(tmp_path / name)))


def plan_file(result):
    plan = json.loads(pathlib.Path(result["plan_file"]).read_text())
    plan.pop("at")
    return plan


def test_the_forked_writer_writes_the_file_the_run_writes_itself(tmp_path, forks, monkeypatch):
    monkeypatch.setattr(plan_file_writer, "FORKED_FROM_CHANGES", 1000)
    itself = apply(tmp_path, "sqlite:///%s" % (tmp_path / "one.sqlite"), "reports-one")
    monkeypatch.setattr(plan_file_writer, "FORKED_FROM_CHANGES", 0)
    forked = apply(tmp_path, "sqlite:///%s" % (tmp_path / "two.sqlite"), "reports-two")
    assert forks[0] is None and forks[1] > 0
    assert plan_file(forked) == plan_file(itself)
    assert len(plan_file(forked)["changes"]) == 7
    assert "Desk-5601-pw" not in pathlib.Path(forked["plan_file"]).read_text()
    assert (forked["changes"], forked["summary_text"][:-1]) == (itself["changes"], itself["summary_text"][:-1])
    assert os.stat(forked["plan_file"]).st_mode & 0o777 == 0o600


def test_a_plan_file_the_child_cannot_write_stops_the_apply(tmp_path, pbx_dsn, forks):
    apply(tmp_path, pbx_dsn, "old-reports", accounts=1)
    (tmp_path / "reports").write_text("not a directory\n")
    with pytest.raises(SwitchboardError, match="cannot write the plan report to '%s/reports/plan-" % tmp_path):
        apply(tmp_path, pbx_dsn, "reports")
    assert len(forks) == 2 and all(forks)
    assert db_rows(pbx_dsn, "SELECT number FROM sb_accounts") == [("+390212345601",)]  # written meanwhile, rolled back


def test_a_failing_run_leaves_the_childs_whole_file_and_no_child(tmp_path, sqlite_dsn, forks, monkeypatch):
    def failing(*_args):
        raise SwitchboardError("injected failure in the write")
    monkeypatch.setattr(store.Writer, "journal", failing)
    with pytest.raises(SwitchboardError, match="injected failure"):
        apply(tmp_path, sqlite_dsn, "reports")
    (child,) = forks
    with pytest.raises(ChildProcessError):
        os.waitpid(child, os.WNOHANG)  # reaped
    (written,) = (tmp_path / "reports").glob("plan-*.json")
    assert len(json.loads(written.read_text())["changes"]) == 7


def test_when_no_child_can_be_made_the_run_writes_the_file_itself(tmp_path, sqlite_dsn, forks, monkeypatch):
    def no_fork():
        raise OSError(12, "Cannot allocate memory")
    monkeypatch.setattr(forked_work.os, "fork", no_fork)
    result = apply(tmp_path, sqlite_dsn, "reports")
    assert forks == [None]
    assert len(plan_file(result)["changes"]) == 7
    assert db_rows(sqlite_dsn, "SELECT count(*) FROM sb_accounts") == [(5,)]
