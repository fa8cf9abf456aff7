"""A big state's rules across files are checked by a forked child while the run plans (declared.RulesVerdict): the
same result and warnings as when they are checked first, an invalid state still writes nothing (not even a new
SQLite file) and is the story even when planning it failed, and no child is left behind. Real SQLite and
PostgreSQL; the threshold is lowered so that a small state forks."""

import os
import pathlib

import pytest

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import declared, engine, forked_work, incremental_run
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState

GROUPS = [{"name": "office"}]
ACCOUNTS = [{"number": "+39021234560%d" % i, "group": "office", "type": "snom", "username": "700%d" % i,
             "password": "Desk-560%d-pw" % i, "owner": "Desk %d" % i, "keepalive": i == 2} for i in range(1, 5)]
INVALID = ACCOUNTS + [{"number": "+390212345609", "group": "nowhere", "type": "snom", "username": "7001",
                       "owner": "Intruder"}]


@pytest.fixture
def children(monkeypatch):
    """Every state forks its check; returns the pids of the children that checked (None: checked in the run)."""
    started = []
    real = forked_work.ForkedWork.start

    def start(work, what):
        child = real(work, what)
        if what.startswith("the check of the rules"):
            started.append(child and child.pid)
        return child
    monkeypatch.setattr(declared, "FORKED_RULES_FROM_OBJECTS", 0)
    monkeypatch.setattr(forked_work.ForkedWork, "start", staticmethod(start))
    return started


def run(tmp_path, dsn, accounts, name="reports"):
    state = write_state(tmp_path / "state", {"groups.yml": {"groups": GROUPS}, "accounts.yml": {"accounts": accounts}})
    return engine.run(engine.Options(str(state), dsn, SIP_DOMAIN, report_dir=str(tmp_path / name)))


def reaped(pid):
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    return True


def told(result):
    return result["changes"], result["summary_text"][:-1], result["warnings"]


def test_checked_meanwhile_the_run_tells_what_it_tells_when_they_are_checked_first(tmp_path, pbx_dsn, monkeypatch):
    first = run(tmp_path, "sqlite:///%s" % (tmp_path / "first.sqlite"), ACCOUNTS, "reports-first")
    monkeypatch.setattr(declared, "FORKED_RULES_FROM_OBJECTS", 0)
    meanwhile = run(tmp_path, pbx_dsn, ACCOUNTS)
    assert told(meanwhile) == told(first)
    assert any("keepalive is on for 1 account" in w for w in meanwhile["warnings"])
    assert any("plain-text password" in w for w in meanwhile["warnings"])
    assert set(meanwhile["timings"]) >= {"validation across files", "validation across files (in parallel)"}
    assert "validation across files (in parallel)" not in first["timings"]


def test_an_invalid_state_checked_meanwhile_writes_nothing_not_even_a_new_file(tmp_path, sqlite_dsn, children):
    with pytest.raises(InvalidState) as raised:
        run(tmp_path, sqlite_dsn, INVALID)
    assert {(p.path, p.rule) for p in raised.value.problems} == {
        ("accounts[4].group", "a group must exist before accounts in it"),
        ("accounts[4].username", "usernames are unique")}
    assert not pathlib.Path(sqlite_dsn[len("sqlite:///"):]).parent.exists()
    assert len(children) == 1 and children[0] != os.getpid() and reaped(children[0])


def test_on_an_existing_platform_an_invalid_state_checked_meanwhile_writes_nothing(tmp_path, pbx_dsn, children,
                                                                                   monkeypatch):
    run(tmp_path, pbx_dsn, ACCOUNTS[:1])
    monkeypatch.setattr(incremental_run, "run", lambda *_args: None)  # the complete run: loaded while it reads
    with pytest.raises(InvalidState, match="group 'nowhere' is not declared"):
        run(tmp_path, pbx_dsn, INVALID)
    assert db_rows(pbx_dsn, "SELECT number FROM sb_accounts") == [("+390212345601",)]
    assert len(children) == 2 and all(children) and all(reaped(pid) for pid in children)


def test_when_planning_an_invalid_state_fails_the_problems_are_the_story(tmp_path, sqlite_dsn, children, monkeypatch):
    def failing(*_args):
        raise KeyError("nowhere")
    monkeypatch.setattr(engine, "make_plan", failing)
    with pytest.raises(InvalidState, match="group 'nowhere' is not declared"):
        run(tmp_path, sqlite_dsn, INVALID)
    with pytest.raises(KeyError):  # a valid state: the planning's own failure
        run(tmp_path, sqlite_dsn, ACCOUNTS)
    assert len(children) == 2 and all(reaped(pid) for pid in children)


def test_a_run_stopped_before_the_verdict_leaves_no_child(tmp_path, sqlite_dsn, children, monkeypatch):
    def interrupted(*_args):
        raise KeyboardInterrupt()
    monkeypatch.setattr(engine, "make_plan", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path, sqlite_dsn, ACCOUNTS)
    (child,) = children
    assert child and reaped(child)


def test_an_incremental_run_checks_them_meanwhile_too(tmp_path, pbx_dsn, children):
    run(tmp_path, pbx_dsn, ACCOUNTS)
    renamed = [dict(a, owner="Ada") if a["number"] == "+390212345603" else a for a in ACCOUNTS]
    result = run(tmp_path, pbx_dsn, renamed)
    assert (result["run"], result["changes"]) == ("incremental", ["update accounts/+390212345603 (owner)"])
    assert any("keepalive is on for 1 account" in w for w in result["warnings"])
    taken = [dict(a, username="7001") if a["number"] == "+390212345603" else a for a in ACCOUNTS]
    with pytest.raises(InvalidState, match="'7001' is already the username of"):
        run(tmp_path, pbx_dsn, taken)
    assert db_rows(pbx_dsn, "SELECT username FROM sb_accounts ORDER BY number") == [("7001",), ("7002",), ("7003",),
                                                                                    ("7004",)]
    assert len(children) == 3 and all(children) and all(reaped(pid) for pid in children)
