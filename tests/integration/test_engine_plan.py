"""Plan rules that need the actual state, on a real SQLite PBX through the engine's Python door."""

import dataclasses

import pytest

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState

GROUP = {"groups": [{"name": "office"}]}


def desk(number, **fields):
    account = {"number": number, "group": "office", "type": "snom", "password": "Desk-%s-pw" % number[-4:]}
    account.update(fields)
    return account


def apply(tmp_path, dsn, accounts, mode="merged", check=False):
    state = write_state(tmp_path / "state", {"s.yml": dict(GROUP, accounts=accounts)})
    return engine.run(engine.Options(str(state), dsn, SIP_DOMAIN, mode=mode, check_mode=check,
                                     report_dir=str(tmp_path / "reports")))


def test_secondary_number_change_needs_allow_replace(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, [desk("+390212345601", username="7001", secondary_number="+390212345611")])
    with pytest.raises(InvalidState) as failure:
        apply(tmp_path, pbx_dsn, [desk("+390212345601", username="7001", secondary_number="+390212345612")])
    assert str(failure.value.problems[0]) == (
        "s.yml: accounts[0].secondary_number: changing the secondary_number of an existing account deletes and "
        "re-creates it (its client must be re-provisioned): set allow_replace: true on this account to allow it "
        "(rule: primary and secondary numbers are not editable)")
    assert db_rows(pbx_dsn, "SELECT alias_username FROM dbaliases ORDER BY 1") == [
        ("+390212345601",), ("+390212345611",)]

    replacement = desk("+390212345601", username="7001", secondary_number="+390212345612", allow_replace=True)
    result = apply(tmp_path, pbx_dsn, [replacement])
    assert result["changes"] == ["replace accounts/+390212345601 (secondary_number)"]
    assert db_rows(pbx_dsn, "SELECT alias_username FROM dbaliases ORDER BY 1") == [
        ("+390212345601",), ("+390212345612",)]


def test_primary_number_change_is_a_replace_found_by_username(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, [desk("+390212345601", username="7001")])
    with pytest.raises(InvalidState, match="changing the number of an existing account"):
        apply(tmp_path, pbx_dsn, [desk("+390212345602", username="7001")])
    result = apply(tmp_path, pbx_dsn, [desk("+390212345602", username="7001", allow_replace=True)])
    assert result["changes"] == ["replace accounts/+390212345602 (number)"]
    assert db_rows(pbx_dsn, "SELECT number, username FROM sb_accounts") == [("+390212345602", "7001")]


def test_number_of_an_undeclared_account_is_not_free_in_merged_mode(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, [desk("+390212345601", additional_numbers=["111"])])
    with pytest.raises(InvalidState) as failure:
        apply(tmp_path, pbx_dsn, [desk("+390212345602", additional_numbers=["111"])])
    assert "'111' is linked to account +390212345601 on the platform, which is not in the declared state" in str(
        failure.value)
    result = apply(tmp_path, pbx_dsn, [desk("+390212345602", additional_numbers=["111"])], mode="overridden")
    assert sorted(result["changes"]) == ["create accounts/+390212345602", "delete accounts/+390212345601"]


def test_plain_account_needs_a_password_when_created(tmp_path, pbx_dsn):
    with pytest.raises(InvalidState, match=r"accounts\[0\].password: a plain account needs a password"):
        apply(tmp_path, pbx_dsn, [{"number": "+390212345601", "group": "office"}])


def test_delete_disables_before_deleting(tmp_path, sqlite_dsn, sqlite_statements):
    """Statement order is observed with SQLite's trace hook; the engine path is the same on PostgreSQL."""
    apply(tmp_path, sqlite_dsn, [desk("+390212345601", username="7001"), desk("+390212345602", username="7002")])
    statements = sqlite_statements
    statements.clear()  # what ran before this point is not the subject
    apply(tmp_path, sqlite_dsn, [desk("+390212345602", username="7002")], mode="overridden")
    disable = next(i for i, s in enumerate(statements) if s.startswith("INSERT INTO grp") and "'7001'" in s)
    delete = next(i for i, s in enumerate(statements) if s.startswith("DELETE FROM subscriber") and "'7001'" in s)
    assert disable < delete
    assert db_rows(sqlite_dsn, "SELECT kind, object_key, action FROM sb_journal WHERE action = 'delete'") == [
        ("accounts", "+390212345601", "delete")]


def test_check_mode_rolls_back_on_an_existing_database(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, [desk("+390212345601")])
    result = apply(tmp_path, pbx_dsn, [desk("+390212345601", owner="Chiara Verdi"), desk("+390212345602")], check=True)
    assert sorted(result["changes"]) == ["create accounts/+390212345602", "update accounts/+390212345601 (owner)"]
    assert db_rows(pbx_dsn, "SELECT count(*) FROM sb_accounts") == [(1,)]
    assert db_rows(pbx_dsn, "SELECT count(*) FROM sb_journal") == [(2,)]


def test_drift_in_kamailio_tables_is_repaired(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, [desk("+390212345601", username="7001", additional_numbers=["111"])])
    db_rows(pbx_dsn, "DELETE FROM dbaliases WHERE alias_username = '111'")
    db_rows(pbx_dsn, "INSERT INTO grp (username, domain, grp) VALUES ('7001', ?, 'disabled')", (SIP_DOMAIN,))
    result = apply(tmp_path, pbx_dsn, [desk("+390212345601", username="7001", additional_numbers=["111"])])
    assert result["changes"] == ["update accounts/+390212345601 (number aliases, disabled flag)"]
    assert db_rows(pbx_dsn, "SELECT count(*) FROM grp") == [(0,)]


def test_passwords_from_the_vault_or_secrets_file_follow_the_same_length_rule(tmp_path, pbx_dsn):
    state = write_state(tmp_path / "state", {"s.yml": dict(GROUP, accounts=[
        {"number": "+390212345601", "group": "office", "type": "snom"}])})
    options = engine.Options(str(state), pbx_dsn, SIP_DOMAIN, passwords={"+390212345601": "short"},
                             report_dir=str(tmp_path / "reports"))
    with pytest.raises(InvalidState) as failure:
        engine.run(options)
    assert [str(p) for p in failure.value.problems] == [
        "s.yml: accounts[0].password: is shorter than 8 characters (rule: passwords have at least 8 characters)"]
    assert "short" not in str(failure.value).replace("shorter", "")


def test_usernames_are_unique_after_the_run(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, [desk("+390212345601", username="7001"), desk("+390212345602", username="7002")])
    # An account may take a username another one gives up in the same run ...
    result = apply(tmp_path, pbx_dsn, [desk("+390212345601", username="7009", allow_replace=True),
                                       desk("+390212345602", username="7002"), desk("+390212345603", username="7001")])
    assert sorted(result["changes"]) == ["create accounts/+390212345603", "replace accounts/+390212345601 (username)"]
    # ... but not one that an account staying on the platform keeps (merged mode: +...602 stays).
    with pytest.raises(InvalidState) as failure:
        apply(tmp_path, pbx_dsn, [desk("+390212345601", username="7002", allow_replace=True)])
    assert [str(p) for p in failure.value.problems] == [
        "s.yml: accounts[0].username: '7002' would also be the username of account +390212345602 "
        "(rule: usernames are unique)"]


def test_a_replaced_account_keeps_its_device_channel(tmp_path, pbx_dsn):
    device = {"name": "desk-1", "ip": "10.1.0.5", "platform": "snom", "channels": [
        {"index": 1, "extension": "+390212345601"}]}
    state = write_state(tmp_path / "state", {"s.yml": dict(GROUP, devices=[device], accounts=[
        desk("+390212345601", username="7001")])})
    options = engine.Options(str(state), pbx_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"))
    engine.run(options)
    write_state(state, {"s.yml": dict(GROUP, devices=[device], accounts=[
        desk("+390212345601", username="7001", secondary_number="+390212345611", allow_replace=True)])})
    assert engine.run(options)["changes"] == ["replace accounts/+390212345601 (secondary_number)"]
    assert db_rows(pbx_dsn, "SELECT device, idx, extension FROM sb_channels") == [("desk-1", 1, "+390212345601")]
    assert engine.run(options)["changes"] == []


def test_an_extension_bound_on_an_undeclared_device_counts_in_merged_mode(tmp_path, pbx_dsn):
    def device(name):
        return {"name": name, "ip": "10.1.0.5", "platform": "snom", "channels": [
            {"index": 1, "extension": "+390212345601"}]}
    state = write_state(tmp_path / "state", {"s.yml": dict(GROUP, devices=[device("desk-1")],
                                                           accounts=[desk("+390212345601")])})
    options = engine.Options(str(state), pbx_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"))
    engine.run(options)
    write_state(state, {"s.yml": dict(GROUP, devices=[device("desk-2")], accounts=[desk("+390212345601")])})
    with pytest.raises(InvalidState) as failure:
        engine.run(options)
    assert str(failure.value.problems[0]) == (
        "s.yml: devices[0].channels[0].extension: extension +390212345601 is also bound on desk-1 on the platform, "
        "which is not in the declared state (rule: an extension sits on one channel, two with multi_login)")
    assert engine.run(dataclasses.replace(options, mode="overridden"))["changes"] == [
        "create devices/desk-2", "delete devices/desk-1"]


def test_a_subscriber_row_deleted_behind_our_back_comes_back(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, [desk("+390212345601", username="7001")])
    db_rows(pbx_dsn, "DELETE FROM subscriber")
    assert apply(tmp_path, pbx_dsn, [desk("+390212345601", username="7001")])["changes"] == [
        "update accounts/+390212345601 (subscriber row missing)"]
    assert db_rows(pbx_dsn, "SELECT username FROM subscriber") == [("7001",)]
    assert apply(tmp_path, pbx_dsn, [desk("+390212345601", username="7001")])["changes"] == []


def test_overridden_mode_refuses_an_empty_state(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, [desk("+390212345601")])
    write_state(tmp_path / "state", {"empty.yml": "# nothing\n"})
    options = engine.Options(str(tmp_path / "state"), pbx_dsn, SIP_DOMAIN, mode="overridden",
                             report_dir=str(tmp_path / "reports"))
    with pytest.raises(InvalidState, match="the declared state is empty: overridden mode would remove everything"):
        engine.run(options)


def test_a_wizard_account_takes_no_password_from_the_vault_either(tmp_path, pbx_dsn):
    state = write_state(tmp_path / "state", {"s.yml": {
        "provisioning_profiles": [{"name": "enterprise", "base_url": "http://127.0.0.1:5080"}],
        "groups": [{"name": "mobile", "provisioning_profile": "enterprise"}],
        "accounts": [{"number": "+393471234567", "group": "mobile", "type": "pgsm", "activation": "wizard"}]}})
    options = engine.Options(str(state), pbx_dsn, SIP_DOMAIN, passwords={"+393471234567": "Chosen-By-Hand-1"},
                             report_dir=str(tmp_path / "reports"))
    with pytest.raises(InvalidState, match=r"accounts\[0\].password: a wizard account's password is chosen by the system"):
        engine.run(options)
