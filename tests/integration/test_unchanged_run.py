"""A run with the inputs of the last complete run reads nothing (unchanged_run), and no change made behind the
tool's back is ever hidden by that: real SQLite and PostgreSQL, writes made by hand with SQL."""

import dataclasses

import pytest

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import audit, engine
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.database import transaction

STATE = {"groups": [{"name": "office"}],
         "accounts": [{"number": "+390212345601", "group": "office", "type": "snom", "username": "7001",
                       "password": "Desk-5601-pw"},
                      {"number": "+390212345602", "group": "office", "type": "snom", "username": "7002"}]}
PASSWORDS = {"+390212345602": "Desk-5602-from-vault"}


def options(tmp_path, dsn, **changes):
    return dataclasses.replace(engine.Options(str(tmp_path / "state"), dsn, SIP_DOMAIN, passwords=dict(PASSWORDS),
                                              report_dir=str(tmp_path / "reports")), **changes)


@pytest.fixture
def applied(tmp_path, pbx_dsn):
    write_state(tmp_path / "state", {"s.yml": STATE})
    first = engine.run(options(tmp_path, pbx_dsn))
    assert first["change_count"] == 3 and "unchanged_since" not in first
    return pbx_dsn


def by_hand(dsn, *statements):
    with transaction(dsn) as db:
        for sql in statements:
            db.execute(sql)


def test_an_unchanged_run_reads_nothing_and_still_tells_the_warnings(tmp_path, applied):
    again = engine.run(options(tmp_path, applied))
    assert again["changed"] is False and again["change_count"] == 0 and again["unchanged_since"]
    assert again["summary_text"][1].startswith("nothing read: the state files, secrets and every platform table")
    assert any("plain-text password" in w for w in again["warnings"])
    assert [a["change_count"] for a in audit.applies(applied, SIP_DOMAIN)] == [0, 3]  # newest first: recorded too
    check = engine.run(options(tmp_path, applied, check_mode=True))
    assert check["unchanged_since"] and check["message"] == "no change planned: the platform matches the declared state"


@pytest.mark.parametrize("statement, field", [
    ("UPDATE subscriber SET ha1 = 'ffffffffffffffffffffffffffffffff' WHERE username = '7001'", "password"),
    ("DELETE FROM dbaliases WHERE alias_username = '+390212345602'", "number aliases"),
    ("UPDATE sb_accounts SET data = REPLACE(data, 'office', 'office') WHERE number = '+390212345601'", None),
])
def test_a_write_behind_the_tools_back_is_seen(tmp_path, applied, statement, field):
    by_hand(applied, statement)
    repaired = engine.run(options(tmp_path, applied))
    assert "unchanged_since" not in repaired
    if field:
        assert repaired["change_count"] == 1 and field in repaired["changes"][0]
    assert "unchanged_since" in engine.run(options(tmp_path, applied))


def test_an_undeclared_subscriber_added_by_hand_is_reported(tmp_path, applied):
    by_hand(applied, "INSERT INTO subscriber (username, domain, password, ha1, ha1b) "
                     "VALUES ('intruder', '%s', '', 'a', 'b')" % SIP_DOMAIN)
    result = engine.run(options(tmp_path, applied))
    assert "unchanged_since" not in result
    assert any("intruder@" in w for w in result["warnings"])


def test_a_changed_file_secret_or_mode_runs_in_full(tmp_path, applied):
    assert "unchanged_since" not in engine.run(options(tmp_path, applied, passwords={"+390212345602": "New-pw-5602"}))
    assert "unchanged_since" in engine.run(options(tmp_path, applied, passwords={"+390212345602": "New-pw-5602"}))
    assert "unchanged_since" not in engine.run(options(tmp_path, applied, passwords={"+390212345602": "New-pw-5602"},
                                                       mode="overridden"))
    (tmp_path / "state" / "s.yml").write_text((tmp_path / "state" / "s.yml").read_text() + "\n# reviewed\n")
    assert "unchanged_since" not in engine.run(options(tmp_path, applied, passwords={"+390212345602": "New-pw-5602"},
                                                       mode="overridden"))


@pytest.mark.parametrize("damage", ["drop trigger", "delete counter", "recreate table"])
def test_without_its_counter_a_run_never_trusts_the_record(tmp_path, applied, damage):
    postgres = applied.startswith("postgresql")
    trigger = "sb_changes_subscriber" if postgres else "sb_changes_subscriber_update"
    statements = {
        "drop trigger": ["DROP TRIGGER %s%s" % (trigger, " ON subscriber" if postgres else "")],
        "delete counter": ["DELETE FROM sb_meta WHERE name = 'changes'"],
        "recreate table": ["CREATE TABLE grp_copy AS SELECT * FROM grp", "DROP TABLE grp",
                           "CREATE TABLE grp AS SELECT * FROM grp_copy", "DROP TABLE grp_copy"],
    }[damage]
    by_hand(applied, *statements)
    by_hand(applied, "UPDATE subscriber SET ha1 = 'ffffffffffffffffffffffffffffffff' WHERE username = '7001'")
    repaired = engine.run(options(tmp_path, applied))
    assert "unchanged_since" not in repaired and repaired["change_count"] == 1
    assert "unchanged_since" in engine.run(options(tmp_path, applied))  # the counter is whole again


def test_a_one_account_door_write_moves_the_counter(tmp_path, applied):
    engine.reconcile_account(options(tmp_path, applied), "+390212345601", {"enabled": False}, "present")
    result = engine.run(options(tmp_path, applied))
    assert "unchanged_since" not in result and result["changes"] == ["update accounts/+390212345601 (enabled, disabled flag)"]
    assert db_rows(applied, "SELECT count(*) FROM grp WHERE username = '7001'") == [(0,)]
