"""A run, a load of the state and a plan build their 100k-object structures with the garbage collector paused
(collector.py), and give it back afterwards, also when the state is invalid. Real SQLite."""

import gc

import pytest

from conftest import SIP_DOMAIN, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import declared, engine, plan
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState

STATE = {"groups": [{"name": "office"}],
         "accounts": [{"number": "+390212345601", "group": "office", "type": "snom", "username": "7001",
                       "password": "Desk-5601-pw"}]}


@pytest.fixture(autouse=True)
def collector_on():
    gc.enable()
    yield
    gc.enable()


def recorder():
    """A progress callback that notes whether the collector ran at each step."""
    seen = []
    return seen, lambda phase, done, total: seen.append((phase, gc.isenabled()))


def test_a_run_plans_and_writes_with_the_collector_paused(tmp_path, sqlite_dsn):
    seen, progress = recorder()
    options = engine.Options(str(write_state(tmp_path / "state", {"s.yml": STATE})), sqlite_dsn, SIP_DOMAIN,
                             report_dir=str(tmp_path / "reports"), progress=progress)
    assert engine.run(options)["message"] == "created 1 account and 1 group"
    assert {phase for phase, _on in seen} == {"loading", "planning", "writing"}
    assert [phase for phase, on in seen if on] == []
    assert gc.isenabled()


def test_a_load_is_paused_and_gives_the_collector_back_when_the_state_is_invalid(tmp_path):
    seen, progress = recorder()
    state = write_state(tmp_path / "state", {"s.yml": {"accounts": [dict(STATE["accounts"][0], group="nowhere")]}})
    with pytest.raises(InvalidState) as failure:
        declared.load(str(state), str(tmp_path / "cache"), progress=progress)
    assert [str(p) for p in failure.value.problems] == [
        "s.yml: accounts[0].group: group 'nowhere' is not declared (rule: a group must exist before accounts in it)"]
    assert seen and [phase for phase, on in seen if on] == []
    assert gc.isenabled()


def test_a_plan_outside_a_run_is_paused(tmp_path, sqlite_dsn, monkeypatch):
    """Drift plans without engine.run: make_plan pauses the collector itself."""
    planned = plan.Planner.plan
    states = []

    def noting(planner):
        states.append(gc.isenabled())
        return planned(planner)
    monkeypatch.setattr(plan.Planner, "plan", noting)
    options = engine.Options(str(write_state(tmp_path / "state", {"s.yml": STATE})), sqlite_dsn, SIP_DOMAIN,
                             report_dir=str(tmp_path / "reports"))
    engine.run(options)
    states.clear()
    _declared, _actual, changes, _warnings = engine.read_and_plan(options)
    assert (states, changes) == ([False], [])
    assert gc.isenabled()
