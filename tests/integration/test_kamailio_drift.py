"""What the engine reads from Kamailio's tables and repairs: missing credentials, drift in words, rows no
account owns, damaged rows. On a real SQLite and PostgreSQL PBX through the engine's Python door."""

import hashlib
import json
import pathlib

import pytest

from conftest import SIP_DOMAIN, db_rows, sqlite_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState, SwitchboardError

GROUP = {"groups": [{"name": "office"}]}
OLD_DOMAIN = "old.example"
RULE = "(rule: drift repair never invents credentials)"


def desk(number, password=True, **fields):
    account = {"number": number, "group": "office", "type": "snom"}
    if password:
        account["password"] = "Desk-%s-pw" % number[-4:]
    account.update(fields)
    return account


def run(tmp_path, dsn, accounts, mode="merged", check=False):
    state = write_state(tmp_path / "state", {"s.yml": dict(GROUP, accounts=accounts)})
    return engine.run(engine.Options(str(state), dsn, SIP_DOMAIN, mode=mode, check_mode=check,
                                     report_dir=str(tmp_path / "reports")))


def plan_file(result):
    with open(result["plan_file"]) as handle:
        return json.load(handle)


def ha1(username, password):
    return hashlib.md5(("%s:%s:%s" % (username, SIP_DOMAIN, password)).encode()).hexdigest()


def everything(dsn):
    """Every row a run could write, to prove that a refused run wrote nothing."""
    return {table: sorted(map(repr, db_rows(dsn, "SELECT * FROM %s" % table)))
            for table in ("subscriber", "dbaliases", "grp", "usr_preferences", "sb_accounts", "sb_account_numbers",
                          "sb_journal")}


# -- drift repair never invents credentials -----------------------------------------------------------------------

def test_a_lost_subscriber_row_without_a_declared_password_is_an_error(tmp_path, pbx_dsn):
    run(tmp_path, pbx_dsn, [desk("+390212345601", username="7001")])
    db_rows(pbx_dsn, "DELETE FROM subscriber")
    before = everything(pbx_dsn)
    with pytest.raises(InvalidState) as failure:
        run(tmp_path, pbx_dsn, [desk("+390212345601", password=False, username="7001")])
    assert [str(p) for p in failure.value.problems] == [
        "s.yml: accounts[0].password: the account's subscriber row (its SIP credential in Kamailio) is missing and "
        "its password is not declared: declare it (inline !vault, the secrets file, or plain text) to restore the "
        "row; a new random password would lock its client out " + RULE]
    assert everything(pbx_dsn) == before

    result = run(tmp_path, pbx_dsn, [desk("+390212345601", username="7001")])
    assert result["changes"] == ["update accounts/+390212345601 (subscriber row missing)"]
    assert db_rows(pbx_dsn, "SELECT username, ha1 FROM subscriber") == [("7001", ha1("7001", "Desk-5601-pw"))]
    [change] = plan_file(result)["changes"]
    assert change["before"]["kamailio"] == {"subscriber row": "missing"}
    assert change["after"]["kamailio"] == {"subscriber row": "present", "number aliases": ["+390212345601"],
                                           "disabled flag": False, "allowed networks": "any",
                                           "caller ID number": "+390212345601", "voice channel limit": None}
    assert ha1("7001", "Desk-5601-pw") not in json.dumps(result) + pathlib.Path(result["plan_file"]).read_text()
    assert run(tmp_path, pbx_dsn, [desk("+390212345601", password=False, username="7001")])["changes"] == []


WIZARD_STATE = {"provisioning_profiles": [{"name": "enterprise", "base_url": "http://127.0.0.1:5080"}],
                "groups": [{"name": "office"}, {"name": "mobile", "provisioning_profile": "enterprise"}]}
WIZARD = {"number": "+393471234567", "group": "mobile", "type": "pgsm", "activation": "wizard", "username": "8001"}


def run_wizard(tmp_path, dsn):
    state = write_state(tmp_path / "state", {"s.yml": dict(WIZARD_STATE, accounts=[WIZARD])})
    return engine.run(engine.Options(str(state), dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))


def test_a_wizard_account_not_activated_gets_a_new_password_an_activated_one_an_error(tmp_path, pbx_dsn):
    run_wizard(tmp_path, pbx_dsn)
    [(first,)] = db_rows(pbx_dsn, "SELECT ha1 FROM subscriber")
    db_rows(pbx_dsn, "DELETE FROM subscriber")
    # Nobody knows a pending account's password yet: a new one locks nobody out.
    assert run_wizard(tmp_path, pbx_dsn)["changes"] == ["update accounts/+393471234567 (subscriber row missing)"]
    [(second,)] = db_rows(pbx_dsn, "SELECT ha1 FROM subscriber WHERE username = '8001'")
    assert second not in ("", first)
    assert run_wizard(tmp_path, pbx_dsn)["changes"] == []

    db_rows(pbx_dsn, "UPDATE sb_accounts SET last_status = 'activated'")
    db_rows(pbx_dsn, "DELETE FROM subscriber")
    before = everything(pbx_dsn)
    with pytest.raises(InvalidState) as failure:
        run_wizard(tmp_path, pbx_dsn)
    assert [str(p) for p in failure.value.problems] == [
        "s.yml: accounts[0].password: the account's subscriber row (its SIP credential in Kamailio) is missing and "
        "only its client knows the password (the account is activated): re-activate the account, which gives its "
        "client a new password " + RULE]
    assert everything(pbx_dsn) == before


def test_kamailio_drift_is_named_in_words_and_shown_in_the_plan(tmp_path, pbx_dsn):
    account = desk("+390212345601", username="7001", additional_numbers=["111"], acl=[{"deny": "0.0.0.0/0"},
                                                                                      {"permit": "10.1.0.0/16"}])
    run(tmp_path, pbx_dsn, [account])
    db_rows(pbx_dsn, "DELETE FROM dbaliases WHERE alias_username = '111'")
    db_rows(pbx_dsn, "INSERT INTO grp (username, domain, grp) VALUES ('7001', ?, 'disabled')", (SIP_DOMAIN,))
    db_rows(pbx_dsn, "DELETE FROM usr_preferences")
    result = run(tmp_path, pbx_dsn, [account])
    assert result["changes"] == ["update accounts/+390212345601 (number aliases, disabled flag, allowed networks, "
                                 "caller ID number)"]
    [change] = plan_file(result)["changes"]
    assert change["before"]["kamailio"] == {"subscriber row": "present", "number aliases": ["+390212345601"],
                                            "disabled flag": True, "allowed networks": "any",
                                            "caller ID number": None, "voice channel limit": None}
    assert change["after"]["kamailio"] == {"subscriber row": "present", "number aliases": ["+390212345601", "111"],
                                           "disabled flag": False, "allowed networks": ["10.1.0.0/16"],
                                           "caller ID number": "+390212345601", "voice channel limit": None}
    [diff] = result["diff"]
    assert "disabled flag: true" in diff["before"] and "disabled flag: false" in diff["after"]
    assert "ha1" not in json.dumps(result).lower()
    assert run(tmp_path, pbx_dsn, [account])["changes"] == []


# -- rows no account owns -------------------------------------------------------------------------------------------

def add_rows(dsn, table, columns, rows):
    for row in rows:
        db_rows(dsn, "INSERT INTO %s (%s) VALUES (%s)" % (table, ", ".join(columns), ", ".join("?" * len(row))), row)


def plant_unknown_rows(tmp_path, dsn):
    """Two declared accounts; a third one whose project row was deleted behind our back; rows nobody declared."""
    orphan = desk("+390212345603", username="7003", enabled=False, acl=[{"deny": "0.0.0.0/0"},
                                                                        {"permit": "10.3.0.0/16"}])
    run(tmp_path, dsn, [desk("+390212345601", username="7001"), desk("+390212345602", username="7002"), orphan])
    for table in ("sb_account_numbers", "sb_accounts"):
        db_rows(dsn, "DELETE FROM %s WHERE %s = '+390212345603'" % (table, "account" if "numbers" in table else "number"))
    add_rows(dsn, "subscriber", ("username", "domain", "ha1", "ha1b"), [
        ("9999", SIP_DOMAIN, ha1("9999", "Intruder-1"), "x"), ("7001", OLD_DOMAIN, "y", "z")])
    add_rows(dsn, "dbaliases", ("alias_username", "alias_domain", "username", "domain"), [
        ("+390212345601", SIP_DOMAIN, "9999", SIP_DOMAIN),  # a declared number, a second target
        ("555", SIP_DOMAIN, "7002", SIP_DOMAIN),  # a number the declared account does not hold
        ("556", SIP_DOMAIN, "8888", SIP_DOMAIN),  # nobody's number to nobody
        ("+390212345601", OLD_DOMAIN, "7001", OLD_DOMAIN)])
    add_rows(dsn, "grp", ("username", "domain", "grp"), [("7001", OLD_DOMAIN, "disabled")])
    add_rows(dsn, "usr_preferences", ("uuid", "username", "domain", "attribute", "type", "value"), [
        ("", "7001", OLD_DOMAIN, "sb_acl", 0, "1")])


STAYING = [  # what merged mode leaves, as platform_info reports it
    {"address": "kamailio/dbaliases/+390212345601@old.example",
     "reasons": ["of domain 'old.example', not this platform's 'pbx.test.example'"],
     "rows": ["+390212345601@old.example -> 7001@old.example"]},
    {"address": "kamailio/dbaliases/+390212345603@pbx.test.example",
     "reasons": ["routes number '+390212345603' to username '7003', which no account has"],
     "rows": ["+390212345603@pbx.test.example -> 7003@pbx.test.example"]},
    {"address": "kamailio/dbaliases/556@pbx.test.example",
     "reasons": ["routes number '556' to username '8888', which no account has"],
     "rows": ["556@pbx.test.example -> 8888@pbx.test.example"]},
    {"address": "kamailio/grp/7001@old.example",
     "reasons": ["of domain 'old.example', not this platform's 'pbx.test.example'"],
     "rows": ["7001@old.example in group disabled"]},
    {"address": "kamailio/grp/7003@pbx.test.example", "reasons": ["no account has username '7003'"],
     "rows": ["7003@pbx.test.example in group disabled"]},
    {"address": "kamailio/subscriber/7001@old.example",
     "reasons": ["of domain 'old.example', not this platform's 'pbx.test.example'"], "rows": ["7001@old.example"]},
    {"address": "kamailio/subscriber/7003@pbx.test.example",
     "reasons": ["no account has username '7003': Kamailio would accept this credential"],
     "rows": ["7003@pbx.test.example"]},
    {"address": "kamailio/subscriber/9999@pbx.test.example",
     "reasons": ["no account has username '9999': Kamailio would accept this credential"],
     "rows": ["9999@pbx.test.example"]},
    {"address": "kamailio/usr_preferences/7001@old.example",
     "reasons": ["of domain 'old.example', not this platform's 'pbx.test.example'"],
     "rows": ["7001@old.example attribute sb_acl"]},
    {"address": "kamailio/usr_preferences/7003@pbx.test.example", "reasons": ["no account has username '7003'"],
     "rows": ["7003@pbx.test.example attribute sb_acl", "7003@pbx.test.example attribute sb_main",
              "7003@pbx.test.example attribute sb_net"]},  # its caller ID row (h-kamailio) is left behind too
]


def unmanaged_warnings(result):
    return [w for w in result["warnings"] if "Kamailio row" in w]


def unknown_rows(dsn):
    return engine.gathered(dsn, SIP_DOMAIN, ["accounts"])["unmanaged"]


def test_merged_mode_repairs_declared_numbers_and_reports_the_other_unknown_rows(tmp_path, pbx_dsn):
    plant_unknown_rows(tmp_path, pbx_dsn)
    declared = [desk("+390212345601", username="7001"), desk("+390212345602", username="7002")]
    result = run(tmp_path, pbx_dsn, declared)
    # The declared state owns its numbers: a second target of one, or an alias of a number its account does not
    # hold, is repaired in any mode.
    assert result["changes"] == ["update accounts/+390212345601 (number aliases)",
                                 "update accounts/+390212345602 (number aliases)"]
    removed = {c["address"]: c["removes"] for c in plan_file(result)["changes"]}
    assert removed == {
        "accounts/+390212345601": [{"address": "kamailio/dbaliases/+390212345601@pbx.test.example",
                                    "row": "+390212345601@pbx.test.example -> 9999@pbx.test.example",
                                    "reason": "routes number '+390212345601' to username '9999', which no account has"}],
        "accounts/+390212345602": [{"address": "kamailio/dbaliases/555@pbx.test.example",
                                    "row": "555@pbx.test.example -> 7002@pbx.test.example",
                                    "reason": "routes number '555' to username '7002' (account +390212345602), "
                                              "which does not hold it"}]}
    assert "stray rows:\n  - '+390212345601@pbx.test.example -> 9999@pbx.test.example: routes number" in (
        result["diff"][0]["before"])
    assert unmanaged_warnings(result) == [
        "12 Kamailio rows that no account owns stay in merged mode (overridden mode removes them): "
        "kamailio/dbaliases/+390212345601@old.example (of domain 'old.example', not this platform's "
        "'pbx.test.example'); kamailio/dbaliases/+390212345603@pbx.test.example (routes number '+390212345603' to "
        "username '7003', which no account has); kamailio/dbaliases/556@pbx.test.example (routes number '556' to "
        "username '8888', which no account has); kamailio/grp/7001@old.example (of domain 'old.example', not this "
        "platform's 'pbx.test.example'); kamailio/grp/7003@pbx.test.example (no account has username '7003'); "
        "and 5 more: see platform_info's unmanaged section"]
    assert db_rows(pbx_dsn, "SELECT alias_username, username FROM dbaliases WHERE alias_domain = ? "
                            "AND alias_username IN ('+390212345601', '555')", (SIP_DOMAIN,)) == [("+390212345601", "7001")]
    assert unknown_rows(pbx_dsn) == STAYING
    again = run(tmp_path, pbx_dsn, declared)
    assert again["changes"] == [] and unmanaged_warnings(again) == unmanaged_warnings(result)


def test_overridden_mode_removes_every_row_no_account_owns(tmp_path, pbx_dsn):
    plant_unknown_rows(tmp_path, pbx_dsn)
    declared = [desk("+390212345601", username="7001"), desk("+390212345602", username="7002")]
    before = everything(pbx_dsn)
    check = run(tmp_path, pbx_dsn, declared, mode="overridden", check=True)
    assert everything(pbx_dsn) == before
    result = run(tmp_path, pbx_dsn, declared, mode="overridden")
    assert result["changes"] == check["changes"] == [
        "update accounts/+390212345601 (number aliases)", "update accounts/+390212345602 (number aliases)"] + [
        "delete %s (%s)" % (entry["address"], ", ".join(entry["reasons"])) for entry in STAYING]
    deleted = next(c for c in plan_file(result)["changes"] if c["address"] == "kamailio/subscriber/9999@pbx.test.example")
    assert deleted == {"address": "kamailio/subscriber/9999@pbx.test.example", "action": "delete",
                       "fields": ["no account has username '9999': Kamailio would accept this credential"],
                       "before": {"rows": ["9999@pbx.test.example"]}, "after": None}
    assert ha1("9999", "Intruder-1") not in pathlib.Path(result["plan_file"]).read_text()
    assert unknown_rows(pbx_dsn) == []
    assert db_rows(pbx_dsn, "SELECT username, domain FROM subscriber ORDER BY 1") == [
        ("7001", SIP_DOMAIN), ("7002", SIP_DOMAIN)]
    assert db_rows(pbx_dsn, "SELECT alias_username, username FROM dbaliases ORDER BY 1") == [
        ("+390212345601", "7001"), ("+390212345602", "7002")]
    assert db_rows(pbx_dsn, "SELECT count(*) FROM grp") == [(0,)]
    assert db_rows(pbx_dsn, "SELECT username, attribute, value FROM usr_preferences ORDER BY 1") == [
        ("7001", "sb_main", "+390212345601"), ("7002", "sb_main", "+390212345602")]  # the declared caller IDs
    again = run(tmp_path, pbx_dsn, declared, mode="overridden")
    assert again["changes"] == [] and unmanaged_warnings(again) == []


def test_a_stray_row_with_a_long_name_is_removed_and_journaled(tmp_path, pbx_dsn):
    declared = [desk("+390212345601", username="7001")]
    run(tmp_path, pbx_dsn, declared)
    username = "u" * 200  # usr_preferences.username is VARCHAR(255), the journal's key VARCHAR(64)
    add_rows(pbx_dsn, "usr_preferences", ("uuid", "username", "domain", "attribute", "type", "value"), [
        ("", username, SIP_DOMAIN, "sb_acl", 0, "1")])
    result = run(tmp_path, pbx_dsn, declared, mode="overridden")
    assert result["changes"] == ["delete kamailio/usr_preferences/%s@%s (no account has username %r)"
                                 % (username, SIP_DOMAIN, username)]
    [(key,)] = db_rows(pbx_dsn, "SELECT object_key FROM sb_journal WHERE kind = 'kamailio'")
    assert len(key) == 64 and key.startswith("usr_preferences/uuu") and key[55] == "~"
    assert db_rows(pbx_dsn, "SELECT username, attribute FROM usr_preferences") == [("7001", "sb_main")]


# -- damaged rows -------------------------------------------------------------------------------------------------

def test_leftover_rows_in_the_way_of_a_new_account_are_removed_first(tmp_path, pbx_dsn):
    run(tmp_path, pbx_dsn, [desk("+390212345602", username="7002")])
    add_rows(pbx_dsn, "subscriber", ("username", "domain", "ha1", "ha1b"), [("7001", SIP_DOMAIN, "stale", "stale")])
    add_rows(pbx_dsn, "grp", ("username", "domain", "grp"), [("7001", SIP_DOMAIN, "disabled")])
    add_rows(pbx_dsn, "dbaliases", ("alias_username", "alias_domain", "username", "domain"), [
        ("+390212345601", SIP_DOMAIN, "4444", SIP_DOMAIN)])
    # Without the repair: UNIQUE constraint failed (subscriber, then grp for the disabled account).
    declared = [desk("+390212345602", username="7002"), desk("+390212345601", username="7001", enabled=False)]
    result = run(tmp_path, pbx_dsn, declared)
    assert result["changes"] == ["create accounts/+390212345601 (number aliases, stale group row, stale subscriber row)"]
    [change] = plan_file(result)["changes"]
    assert [r["address"] for r in change["removes"]] == [
        "kamailio/dbaliases/+390212345601@pbx.test.example", "kamailio/grp/7001@pbx.test.example",
        "kamailio/subscriber/7001@pbx.test.example"]
    assert db_rows(pbx_dsn, "SELECT ha1 FROM subscriber WHERE username = '7001'") == [(ha1("7001", "Desk-5601-pw"),)]
    assert db_rows(pbx_dsn, "SELECT username FROM dbaliases WHERE alias_username = '+390212345601'") == [("7001",)]
    assert db_rows(pbx_dsn, "SELECT username FROM grp") == [("7001",)]
    assert run(tmp_path, pbx_dsn, declared)["changes"] == []


def test_an_account_row_deleted_by_hand_is_declared_again(tmp_path, sqlite_dsn):
    """sqlite3's shell has foreign keys off: deleting the account row leaves every row derived from it."""
    account = desk("+390212345601", username="7001", additional_numbers=["111"])
    run(tmp_path, sqlite_dsn, [account])
    sqlite_rows(sqlite_dsn, "DELETE FROM sb_accounts")
    assert [entry["address"] for entry in unknown_rows(sqlite_dsn)] == [
        "kamailio/dbaliases/+390212345601@pbx.test.example", "kamailio/dbaliases/111@pbx.test.example",
        "kamailio/subscriber/7001@pbx.test.example", "kamailio/usr_preferences/7001@pbx.test.example"]
    # Without the repair: UNIQUE constraint failed: sb_account_numbers.number
    result = run(tmp_path, sqlite_dsn, [account])
    assert result["changes"] == ["create accounts/+390212345601 (number aliases, stale preference row, "
                                 "stale subscriber row)"]
    assert sqlite_rows(sqlite_dsn, "SELECT number, account FROM sb_account_numbers ORDER BY 1") == [
        ("+390212345601", "+390212345601"), ("111", "+390212345601")]
    assert sqlite_rows(sqlite_dsn, "SELECT attribute, value FROM usr_preferences") == [("sb_main", "+390212345601")]
    assert unknown_rows(sqlite_dsn) == []
    assert run(tmp_path, sqlite_dsn, [account])["changes"] == []


@pytest.mark.parametrize("table, key, value, data, detail", [
    ("sb_accounts", "number", "+390212345601", '{"type": "snom",',
     "is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 17 (char 16))"),
    ("sb_accounts", "number", "+390212345601", "[]", "holds a JSON list, not an object"),
    ("sb_groups", "name", "office", "not json", "is not valid JSON (Expecting value: line 1 column 1 (char 0))"),
])
def test_a_damaged_project_row_is_named_and_platform_info_still_reads(tmp_path, pbx_dsn, table, key, value, data,
                                                                      detail):
    declared = [desk("+390212345601", username="7001"), desk("+390212345602", username="7002")]
    run(tmp_path, pbx_dsn, declared)
    db_rows(pbx_dsn, "UPDATE %s SET data = ? WHERE %s = ?" % (table, key), (data, value))
    before = everything(pbx_dsn)
    kind = {"sb_accounts": "account", "sb_groups": "group"}[table]
    message = ("table %s, row %s = %r (%s %s): the data column %s: repair or delete the row, then run again"
               % (table, key, value, kind, value, detail))
    with pytest.raises(SwitchboardError) as failure:
        run(tmp_path, pbx_dsn, declared, mode="overridden")
    assert str(failure.value) == message
    assert everything(pbx_dsn) == before

    gathered = engine.gathered(pbx_dsn, SIP_DOMAIN, ["groups", "accounts"])
    assert gathered["unreadable"] == [{"table": table, "key": value, "problem": message}]
    assert gathered["warnings"] == [message]
    assert gathered["unmanaged"] == []  # the damaged account's Kamailio rows are still its own
    numbers = [a["number"] for a in gathered["state"]["accounts"]]
    assert numbers == (["+390212345602"] if table == "sb_accounts" else ["+390212345601", "+390212345602"])


def test_platform_info_reports_a_missing_subscriber_row_instead_of_failing(tmp_path, pbx_dsn):
    run(tmp_path, pbx_dsn, [desk("+390212345601", username="7001")])
    db_rows(pbx_dsn, "DELETE FROM subscriber")
    status = engine.gathered(pbx_dsn, SIP_DOMAIN, ["accounts"])["account_status"]["+390212345601"]
    assert (status["enabled"], status["subscriber_row"]) == (False, "missing")
