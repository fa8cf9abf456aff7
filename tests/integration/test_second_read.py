"""The second read of the platform, under the write lock (engine._reconcile), on SQLite and PostgreSQL: skipped
when nothing the plan reads changed since the snapshot, even when other tables were written meanwhile (Kamailio
records every registration in its location table); never skipped when a table the plan reads changed, or when
the change counter (change_counter.py) cannot be trusted."""

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine

NUMBER = "+390212345601"


def options(tmp_path, dsn, owner):
    account = {"number": NUMBER, "group": "office", "type": "snom", "password": "Desk-5601-pw", "owner": owner}
    state = write_state(tmp_path / "state", {"s.yml": {"groups": [{"name": "office"}], "accounts": [account]}})
    return engine.Options(str(state), dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"))


def register(dsn):
    """What Kamailio does on a REGISTER: a row in its location table, which no plan reads."""
    db_rows(dsn, "INSERT INTO location (ruid, username, domain, contact) VALUES (?, ?, ?, ?)",
            ("uloc-1", "7001", SIP_DOMAIN, "sip:7001@192.0.2.10:5060"))


def run_with_a_commit_meanwhile(tmp_path, dsn, monkeypatch, commit):
    """A run whose snapshot is read, then ``commit(dsn)`` is committed by another connection while it plans;
    returns (its result, how many times it read the platform)."""
    reads, plans = [], []
    real_read, real_plan = engine.read_actual, engine.make_plan

    def plan_while_another_commits(*args):
        if not plans:
            commit(dsn)
        plans.append(args)
        return real_plan(*args)
    monkeypatch.setattr(engine, "read_actual", lambda *args: reads.append(args) or real_read(*args))
    monkeypatch.setattr(engine, "make_plan", plan_while_another_commits)
    return engine.run(options(tmp_path, dsn, "Chiara Verdi")), len(reads)


def test_a_registration_meanwhile_does_not_read_the_platform_again(tmp_path, pbx_dsn, monkeypatch):
    engine.run(options(tmp_path, pbx_dsn, "Desk"))  # a complete run: the change counter is kept from now on
    result, reads = run_with_a_commit_meanwhile(tmp_path, pbx_dsn, monkeypatch, register)
    assert result["changes"] == ["update accounts/%s (owner)" % NUMBER]
    assert reads == 1
    assert db_rows(pbx_dsn, "SELECT username FROM location") == [("7001",)]


def test_a_change_to_a_table_the_plan_reads_is_read_again_and_planned_again(tmp_path, pbx_dsn, monkeypatch):
    engine.run(options(tmp_path, pbx_dsn, "Desk"))

    def disable_by_hand(dsn):
        register(dsn)
        db_rows(dsn, "INSERT INTO grp (username, domain, grp) SELECT username, domain, 'disabled' FROM subscriber")
    result, reads = run_with_a_commit_meanwhile(tmp_path, pbx_dsn, monkeypatch, disable_by_hand)
    assert result["changes"] == ["update accounts/%s (owner, disabled flag)" % NUMBER]
    assert reads == 2
    assert db_rows(pbx_dsn, "SELECT grp FROM grp") == []


def test_without_a_complete_counter_any_commit_reads_the_platform_again(tmp_path, pbx_dsn, monkeypatch):
    engine.run(options(tmp_path, pbx_dsn, "Desk"))
    if pbx_dsn.startswith("sqlite:"):  # a trigger gone: the counter no longer sees every write
        db_rows(pbx_dsn, "DROP TRIGGER sb_changes_grp_insert")
    else:
        db_rows(pbx_dsn, "DROP TRIGGER sb_changes_grp ON grp")
    result, reads = run_with_a_commit_meanwhile(tmp_path, pbx_dsn, monkeypatch, register)
    assert result["changes"] == ["update accounts/%s (owner)" % NUMBER]
    assert reads == 2
