"""Drift through the engine's Python door, on a real SQLite and PostgreSQL PBX: every object classified, server-owned
fields never drift, the ignore list, unreadable rows, no lock and no write, and no secret in the report."""

import hashlib
import json
import sqlite3

import pytest

from conftest import SIP_DOMAIN, db_rows, file_digest, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import drift, engine, plan
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState
from ansible_collections.switchboard.pbx.plugins.module_utils.reports import render

DESK1, DESK2, DESK3 = "+390212345601", "+390212345602", "+390212345603"
MOBILE = "+393471234567"


def desk(number, **fields):
    return dict({"number": number, "group": "office", "type": "snom", "password": "Desk-%s-pw" % number[-4:]}, **fields)


def state(*accounts, **more):
    return dict({"groups": [{"name": "office"}], "accounts": list(accounts)}, **more)


def options(tmp_path, dsn, **more):
    return engine.Options(str(tmp_path / "state"), dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"), **more)


def apply(tmp_path, dsn, declared, **more):
    write_state(tmp_path / "state", {"s.yml": declared})
    return engine.run(options(tmp_path, dsn, **more))


def drift_of(tmp_path, dsn, declared, **more):
    write_state(tmp_path / "state", {"s.yml": declared})
    return drift.run(options(tmp_path, dsn, **more))


def statuses(built):
    return {o["address"]: (o["status"], o["fields"]) for o in built["objects"]}


def test_in_sync_lists_every_declared_object_and_exits_0(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, state(desk(DESK1), desk(DESK2)))
    built, _warnings = drift_of(tmp_path, pbx_dsn, state(desk(DESK1), desk(DESK2)))
    assert statuses(built) == {"accounts/" + DESK1: ("in_sync", []), "accounts/" + DESK2: ("in_sync", []),
                               "groups/office": ("in_sync", [])}
    assert built["objects"][0]["declared_at"] == "s.yml: accounts[0]"
    assert (built["summary"]["coverage"], built["summary"]["exit_code"]) == (100.0, 0)
    assert drift.sentence(built, "r/drift.json") == "no drift: 3 objects in sync (coverage 100.0 %): see r/drift.json"


def test_changed_missing_and_unmanaged_with_fields_reasons_and_coverage(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, state(desk(DESK1, owner="Anna"), desk(DESK2)))
    db_rows(pbx_dsn, "INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ('stray', ?, '', 'x', 'y')",
            (SIP_DOMAIN,))
    built, _warnings = drift_of(tmp_path, pbx_dsn, state(desk(DESK1, owner="Bruno"), desk(DESK3)))
    assert statuses(built) == {
        "accounts/" + DESK1: ("changed", ["owner"]),
        "accounts/" + DESK2: ("unmanaged", []),
        "accounts/" + DESK3: ("missing", []),
        "groups/office": ("in_sync", []),
        "kamailio/subscriber/stray@pbx.test.example": (
            "unmanaged", ["no account has username 'stray': Kamailio would accept this credential"])}
    by_address = {o["address"]: o for o in built["objects"]}
    assert [by_address["accounts/" + n]["reason"] for n in (DESK1, DESK2, DESK3)] == [
        "fields_differ", "on_platform_not_declared", "declared_not_on_platform"]
    assert (by_address["accounts/" + DESK1]["before"]["owner"], by_address["accounts/" + DESK1]["after"]["owner"]) == (
        "Anna", "Bruno")
    # A missing account's username is the PBX's to generate: not a random draw that changes on every run.
    assert by_address["accounts/" + DESK3]["after"]["username"] == "(generated when created)"
    summary = built["summary"]
    assert (summary["changed"], summary["missing"], summary["unmanaged"], summary["drift"]) == (1, 1, 2, 4)
    assert (summary["coverage"], summary["exit_code"]) == (50.0, 2)  # 2 of the 4 objects found are declared
    assert drift.sentence(built) == "drift: 1 changed, 1 missing, 2 unmanaged (coverage 50.0 %)"


def _activate(dsn, number):
    """What the provisioning service does when a wizard account activates (provisioning/store.py): a new password
    only the client knows, the account enabled, the status and its date moved on."""
    [(username,)] = db_rows(dsn, "SELECT username FROM sb_accounts WHERE number = ?", (number,))
    ha1, ha1b = plan.ha1_pair(username, SIP_DOMAIN, "chosen-by-the-server-at-activation")
    db_rows(dsn, "UPDATE subscriber SET ha1 = ?, ha1b = ? WHERE username = ?", (ha1, ha1b, username))
    db_rows(dsn, "DELETE FROM grp WHERE username = ? AND grp = 'disabled'", (username,))
    db_rows(dsn, "UPDATE sb_accounts SET last_status = 'activated', last_status_date = '2026-11-22 10:00:00' "
                 "WHERE number = ?", (number,))
    return username


def test_only_server_owned_fields_differ_so_there_is_no_drift(tmp_path, pbx_dsn):
    declared = state(desk(DESK1), {"number": MOBILE, "group": "field", "type": "pgsm", "activation": "wizard"},
                     provisioning_profiles=[{"name": "mobile", "base_url": "http://127.0.0.1:5080"}],
                     groups=[{"name": "office"}, {"name": "field", "provisioning_profile": "mobile"}])
    apply(tmp_path, pbx_dsn, declared)  # usernames generated by the PBX: the state names none
    username = _activate(pbx_dsn, MOBILE)
    db_rows(pbx_dsn, "UPDATE sb_accounts SET last_status = 'connected', last_status_date = '2026-11-22 11:00:00' "
                     "WHERE number = ?", (DESK1,))
    built, _warnings = drift_of(tmp_path, pbx_dsn, declared)
    assert {o["status"] for o in built["objects"]} == {"in_sync"}
    assert built["summary"]["exit_code"] == 0
    # The check would see it: the same account with its PBX-side row really changed is drift.
    db_rows(pbx_dsn, "INSERT INTO grp (username, domain, grp, last_modified) VALUES (?, ?, 'disabled', "
                     "'2026-11-22 12:00:00')", (username, SIP_DOMAIN))
    built, _warnings = drift_of(tmp_path, pbx_dsn, declared)
    assert statuses(built)["accounts/" + MOBILE] == ("changed", ["disabled flag"])


def test_an_invalid_state_is_an_error_with_the_usual_message(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, state(desk(DESK1)))
    with pytest.raises(InvalidState) as failure:
        drift_of(tmp_path, pbx_dsn, state(desk(DESK1, group="nowhere")))
    assert [str(p) for p in failure.value.problems] == [
        "s.yml: accounts[0].group: group 'nowhere' is not declared (rule: a group must exist before accounts in it)"]


def test_drift_neither_waits_for_a_writer_nor_writes(tmp_path, sqlite_dsn):
    apply(tmp_path, sqlite_dsn, state(desk(DESK1)))
    path = sqlite_dsn[len("sqlite://"):]
    before, plan_files = file_digest(path), sorted((tmp_path / "reports").iterdir())
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another run (or Kamailio) holds the write lock for as long as it likes
    try:
        built, _warnings = drift_of(tmp_path, sqlite_dsn, state(desk(DESK1, owner="new")), lock_timeout=0.1)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert statuses(built)["accounts/" + DESK1] == ("changed", ["owner"])
    assert file_digest(path) == before
    assert sorted((tmp_path / "reports").iterdir()) == plan_files  # not even a plan file


def test_a_damaged_row_is_unreadable_never_missing_and_exits_1(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, state(desk(DESK1), desk(DESK2)))
    db_rows(pbx_dsn, "UPDATE sb_accounts SET data = '{\"owner\": ' WHERE number = ?", (DESK2,))
    built, _warnings = drift_of(tmp_path, pbx_dsn, state(desk(DESK1), desk(DESK2)))
    damaged = {o["address"]: o for o in built["objects"]}["accounts/" + DESK2]
    assert (damaged["status"], damaged["reason"], damaged["declared_at"]) == (
        "unreadable", "row_unreadable", "s.yml: accounts[1]")
    assert damaged["detail"] == (
        "table sb_accounts, row number = '%s' (account %s): the data column is not valid JSON (Expecting value: line 1 "
        "column 11 (char 10)): repair or delete the row, then run again" % (DESK2, DESK2))
    assert (built["summary"]["drift"], built["summary"]["exit_code"]) == (0, 1)
    assert drift.sentence(built) == "no drift: 2 objects in sync, 1 unreadable (coverage 100.0 %)"


# -- drift_ignore ----------------------------------------------------------------------------------------------------

def test_ignored_objects_and_fields_keep_their_status_print_the_reason_and_do_not_count(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, state(desk(DESK1, owner="Anna"), desk(DESK2, owner="Anna", email="a@x.example"),
                                   desk(DESK3)))
    ignore = [{"address": "accounts/" + DESK1, "fields": ["owner"], "reason": "helpdesk renamed, change 42"},
              {"address": "accounts/" + DESK2, "fields": ["owner"], "reason": "HR feed owns names"},
              {"address": "accounts/+3902123456?3", "reason": "being migrated by ops"},
              {"address": "groups/gone", "reason": "left over"}]
    declared = state(desk(DESK1, owner="Bruno"), desk(DESK2, owner="Bruno", email="b@x.example"), drift_ignore=ignore)
    built, warnings = drift_of(tmp_path, pbx_dsn, declared)
    by_address = {o["address"]: o for o in built["objects"]}
    whole, partial, pattern = (by_address["accounts/" + n] for n in (DESK1, DESK2, DESK3))
    assert (whole["status"], whole["fields"], whole["ignored"]) == ("changed", ["owner"], "helpdesk renamed, change 42")
    assert (partial["status"], partial["fields"], partial["ignored"]) == ("changed", ["email"], None)
    assert partial["detail"] == "ignored fields owner: HR feed owns names"
    assert (pattern["status"], pattern["ignored"]) == ("unmanaged", "being migrated by ops")
    assert (built["summary"]["drift"], built["summary"]["ignored"], built["summary"]["exit_code"]) == (1, 2, 2)
    assert drift.sentence(built) == "drift: 1 changed, 2 ignored (coverage 75.0 %)"
    assert warnings[-1] == "drift_ignore: groups/gone matched no drift (fixed meanwhile, or a typo?)"

    declared["accounts"][1]["email"] = "a@x.example"  # only accepted drift left: in sync for a pipeline
    built, _warnings = drift_of(tmp_path, pbx_dsn, declared)
    assert built["summary"]["exit_code"] == 0
    assert drift.sentence(built) == "no drift: 1 object in sync, 3 ignored (coverage 75.0 %)"


@pytest.mark.parametrize("item, problem", [
    ({"address": "accounts/" + DESK1, "reason": "  "},
     "s.yml: drift_ignore[0].reason: is blank: say why this drift is accepted (rule: an accepted drift says why)"),
    ({"address": "accounts/" + DESK1},
     "s.yml: drift_ignore[0]: the required field 'reason' is missing (rule: schema: required)"),
    ({"address": "phones/desk-1", "reason": "x"},
     "s.yml: drift_ignore[0].address: 'phones/desk-1' does not match: an address is KIND/KEY, KIND one of accounts, "
     "groups, numbers, devices, networks, provisioning_profiles, trusted_peers, kamailio, fleet (accounts/+390212345601);"
     " * and ? match any characters (accounts/+3902*) (rule: schema: pattern)"),
])
def test_a_bad_ignore_entry_names_file_path_and_rule(tmp_path, sqlite_dsn, item, problem):
    with pytest.raises(InvalidState) as failure:
        drift_of(tmp_path, sqlite_dsn, state(desk(DESK1), drift_ignore=[item]))
    assert [str(p) for p in failure.value.problems] == [problem]


def test_an_address_ignored_twice_is_refused_and_the_platform_run_checks_it_too(tmp_path, sqlite_dsn):
    twice = [{"address": "accounts/" + DESK1, "reason": "one"}, {"address": "accounts/" + DESK1, "reason": "two"}]
    write_state(tmp_path / "state", {"s.yml": state(desk(DESK1), drift_ignore=twice)})
    with pytest.raises(InvalidState) as failure:
        engine.run(options(tmp_path, sqlite_dsn))
    assert [str(p) for p in failure.value.problems] == [
        "s.yml: drift_ignore[1].address: accounts/+390212345601 is already ignored at s.yml: drift_ignore[0] "
        "(rule: an address is ignored in one place)"]


def test_no_secret_reaches_the_report(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, state(desk(DESK1), desk(DESK2)))
    db_rows(pbx_dsn, "UPDATE subscriber SET ha1 = 'ffffffffffffffffffffffffffffffff'")  # the password drifted
    declared = state(desk(DESK1, password="Another-secret-1"), desk(DESK3, password="Third-secret-3"))
    built, warnings = drift_of(tmp_path, pbx_dsn, declared)
    assert statuses(built)["accounts/" + DESK1] == ("changed", ["password"])
    paths = render.write(built, ["json", "md", "html", "junit"], str(tmp_path / "out"), "drift")
    text = "".join(open(path).read() for path in paths) + json.dumps(warnings) + drift.sentence(built)
    ha1s = [row[0] for row in db_rows(pbx_dsn, "SELECT ha1 FROM subscriber")] + [
        row[0] for row in db_rows(pbx_dsn, "SELECT ha1b FROM subscriber")]
    secrets = ["Another-secret-1", "Third-secret-3", "Desk-5602-pw", "Desk-5601-pw"] + ha1s + [
        hashlib.md5(("%s:%s:Another-secret-1" % (u, SIP_DOMAIN)).encode()).hexdigest()
        for (u,) in db_rows(pbx_dsn, "SELECT username FROM subscriber")]
    assert [secret for secret in secrets if secret in text] == []
    assert '"password":"******** (changed)"' in text


def test_a_number_that_differs_is_reported_as_a_replacement_not_refused_like_a_plan(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, state(desk(DESK1, username="7001", secondary_number="+390212345611")))
    declared = state(desk(DESK1, username="7001", secondary_number="+390212345612"))
    built, _warnings = drift_of(tmp_path, pbx_dsn, declared)
    [obj] = [o for o in built["objects"] if o["kind"] == "accounts"]
    assert (obj["status"], obj["actions"], obj["reason"], obj["fields"]) == (
        "changed", [], "replace_because_secondary_number_changed", ["secondary_number"])
    assert built["summary"]["exit_code"] == 2
    with pytest.raises(InvalidState, match="set allow_replace: true on this account"):  # the plan still refuses
        engine.run(options(tmp_path, pbx_dsn, check_mode=True))
