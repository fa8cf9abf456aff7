"""switchboard.pbx.sip_account does what it says: one change, checked against what it touches only."""

import itertools
import shutil

import yaml

from conftest import DEMO_STATE, SIP_DOMAIN, Playbook, db_rows, recap_changed, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine


def sip_account(playbook, expect_rc=0, **fields):
    fields.update(dsn="{{ switchboard_pbx_dsn }}", sip_domain="{{ switchboard_sip_domain }}")
    path = playbook.tmp_path / "account.yml"
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False,
                                     "tasks": [{"switchboard.pbx.sip_account": fields}]}], sort_keys=False))
    return playbook.run("--diff", playbook=str(path), expect_rc=expect_rc)


def demo(tmp_path, dsn):
    playbook = Playbook(tmp_path, dsn)
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    playbook.run()
    return playbook


def one_line(output):
    return " ".join(output.split())


def disabled(dsn):
    return {row[0] for row in db_rows(dsn, "SELECT username FROM grp WHERE grp = 'disabled'")}


def test_an_unrelated_accounts_problem_never_blocks_disabling_a_lost_phone(tmp_path, pbx_dsn):
    playbook = demo(tmp_path, pbx_dsn)
    # A rogue row (no group in its data, SNOM with wizard activation, claiming another account's number) and an
    # account whose stored data now breaks the rules (a SNOM phone with ZRTP and obfuscation).
    db_rows(pbx_dsn, "INSERT INTO sb_accounts (number, group_name, username, last_status, last_status_date, data) "
            "VALUES ('+390299999999', 'milano-office', '9999', 'created', '2026-01-01 00:00:00', "
            "'{\"type\": \"snom\", \"activation\": \"wizard\", \"additional_numbers\": [\"101\"]}')")
    db_rows(pbx_dsn, "UPDATE sb_accounts SET data = replace(data, '\"type\":\"pgsm\"', '\"type\":\"snom\"') "
            "WHERE number = '+393351112233'")
    db_rows(pbx_dsn, "UPDATE sb_accounts SET data = '{\"broken' WHERE number = '+393489876543'")
    output = sip_account(playbook, number="+390212345602", state="disabled")
    assert recap_changed(output) == 1
    assert "4102" in disabled(pbx_dsn)
    assert recap_changed(sip_account(playbook, number="+390212345602", state="enabled")) == 1
    assert "4102" not in disabled(pbx_dsn)


def test_a_number_that_lost_its_plus_is_refused_and_nothing_is_written(tmp_path, sqlite_dsn):
    playbook = Playbook(tmp_path, sqlite_dsn)
    path = tmp_path / "unquoted.yml"
    path.write_text("""
- hosts: all
  gather_facts: false
  tasks:
    - switchboard.pbx.sip_account:
        dsn: "{{ switchboard_pbx_dsn }}"
        sip_domain: "{{ switchboard_sip_domain }}"
        number: +390212345609
        group: office
        type: snom
        password: Unquoted-Desk-1
""")
    output = playbook.run(playbook=str(path), expect_rc=2)
    assert ("number: 390212345609 is not a string: YAML reads an unquoted number as an integer and drops a leading "
            "'+' or '0'; quote the number as written, e.g. \"+390212345609\"") in one_line(output)
    path.write_text(path.read_text().replace("number: +390212345609", "number: \"+390212345609\"\n"
                                             "        secondary_number: +390212345607\n"
                                             "        additional_numbers: [\"111\", +390212345608]"))
    output = playbook.run(playbook=str(path), expect_rc=2)
    assert ("secondary_number: 390212345607 is not a string: YAML reads an unquoted number as an integer and drops a "
            "leading '+' or '0'; quote the number as written, e.g. \"+390212345607\"; additional_numbers[1]: "
            "390212345608 is not a string:") in one_line(output)
    assert "Unquoted-Desk-1" not in output
    assert not (tmp_path / "db").exists()


def test_enabling_a_wizard_account_that_is_not_activated_says_why_it_stays_disabled(tmp_path, sqlite_dsn):
    playbook = demo(tmp_path, sqlite_dsn)
    username = db_rows(sqlite_dsn, "SELECT username FROM sb_accounts WHERE number = '+393471234567'")[0][0]
    output = sip_account(playbook, number="+393471234567", state="enabled")
    assert recap_changed(output) == 0
    assert ("[WARNING]: account +393471234567 stays disabled: it is a wizard account whose client is not activated "
            "yet (last status: created); it is enabled when its client completes the activation") in one_line(output)
    assert username in disabled(sqlite_dsn)
    # The client activates: enabling now enables, without a warning.
    db_rows(sqlite_dsn, "UPDATE sb_accounts SET last_status = 'activated' WHERE number = '+393471234567'")
    output = sip_account(playbook, number="+393471234567", state="enabled")
    assert recap_changed(output) == 1 and "stays disabled" not in output
    assert username not in disabled(sqlite_dsn)


def test_enabling_an_account_that_does_not_exist_is_refused(tmp_path, sqlite_dsn):
    playbook = demo(tmp_path, sqlite_dsn)
    output = sip_account(playbook, number="+390212345699", state="enabled", expect_rc=2)
    assert ("sip_account: number: +390212345699: cannot be enabled: there is no such account "
            "(rule: the account must exist)") in one_line(output)


def test_the_door_reads_only_what_its_change_touches(tmp_path, sqlite_dsn, sqlite_statements):
    """Every query of the ad-hoc door is a look-up by key (SQLite's trace hook sees the SQL); reading a whole
    table would make one change cost as much as the platform is large."""
    accounts = [{"number": "+39021234%04d" % i, "group": "office", "type": "snom", "password": "Desk-password-%d" % i}
                for i in range(20)]
    state = write_state(tmp_path / "state", {"s.yml": {"groups": [{"name": "office"}], "accounts": accounts}})
    engine.run(engine.Options(str(state), sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))
    statements = sqlite_statements
    statements.clear()  # what ran before this point is not the subject
    result = engine.reconcile_account(engine.Options(None, sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")),
                                      "+390212340007", {"owner": "Luca Galli"}, "present")
    assert result["changes"] == ["update accounts/+390212340007 (owner)"]
    bookkeeping = ("sqlite_master", "FROM version", "FROM sb_schema", "FROM sb_meta")  # the schema check, a few rows
    reads = [s for s in statements if s.startswith("SELECT") and not any(b in s for b in bookkeeping)]
    assert reads and all(" WHERE " in s for s in reads), reads
    assert db_rows(sqlite_dsn, "SELECT count(*) FROM sb_accounts") == [(20,)]


def test_absent_deletes_one_account_and_keeps_the_others(tmp_path, pbx_dsn):
    playbook = demo(tmp_path, pbx_dsn)
    before = db_rows(pbx_dsn, "SELECT count(*) FROM sb_accounts")[0][0]
    assert recap_changed(sip_account(playbook, number="+393351112233", state="absent")) == 1
    assert db_rows(pbx_dsn, "SELECT count(*) FROM sb_accounts")[0][0] == before - 1
    assert db_rows(pbx_dsn, "SELECT count(*) FROM subscriber WHERE username = '5003'") == [(0,)]
    assert recap_changed(sip_account(playbook, number="+393351112233", state="absent")) == 0


def test_a_generated_username_is_free_on_the_whole_platform(tmp_path, pbx_dsn, monkeypatch):
    """Only a few accounts are read for one change: the generated username is checked against every account
    and subscriber row, so it never collides with one that was not read."""
    from ansible_collections.switchboard.pbx.plugins.module_utils import account_change

    state = write_state(tmp_path / "state", {"s.yml": {"groups": [{"name": "office"}], "accounts": [
        {"number": "+390212345601", "group": "office", "type": "snom", "username": "4101", "password": "Desk-4101-pw"}]}})
    options = engine.Options(str(state), pbx_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"))
    engine.run(options)
    candidates = itertools.cycle(["4101", "4102"])  # the same again if the door reads twice (a commit elsewhere)
    monkeypatch.setattr(account_change, "generate_username", lambda taken: next(candidates))
    engine.reconcile_account(engine.Options(None, pbx_dsn, SIP_DOMAIN, passwords={"+390212345602": "Desk-4102-pw"},
                                            report_dir=str(tmp_path / "reports")),
                             "+390212345602", {"group": "office", "type": "snom"}, "present")
    assert db_rows(pbx_dsn, "SELECT number, username FROM sb_accounts ORDER BY number") == [
        ("+390212345601", "4101"), ("+390212345602", "4102")]


def test_a_problem_that_was_already_there_does_not_block_disabling(tmp_path, pbx_dsn):
    """The reception desk's group now lists only 192.0.2.0/24, and its phone is at 10.20.0.15 (changed behind
    the engine's back): an update of the account is refused, disabling it goes ahead with a warning."""
    playbook = demo(tmp_path, pbx_dsn)
    db_rows(pbx_dsn, "UPDATE sb_groups SET data = ? WHERE name = 'milano-office'",
            ('{"description": null, "ip_listing": {"allow": ["192.0.2.0/24"], "enabled": true}}',))
    problem = ("sip_account: devices[0].channels[0].extension: device reception-snom-d785 has IP 10.20.0.15, outside "
               "the IP listing of group milano-office (rule: group IP listing)")
    output = sip_account(playbook, number="+390212345601", owner="Chiara Verdi-Rossi", expect_rc=2)
    assert problem in one_line(output)
    output = sip_account(playbook, number="+390212345601", state="disabled")
    assert recap_changed(output) == 1
    assert "[WARNING]: %s (so before this change too: the account is disabled all the same)" % problem in one_line(output)
    assert "4101" in disabled(pbx_dsn)


def test_a_damaged_row_in_what_the_change_touches_is_named(tmp_path, sqlite_dsn):
    playbook = demo(tmp_path, sqlite_dsn)
    db_rows(sqlite_dsn, "UPDATE sb_groups SET data = '{\"broken' WHERE name = 'milano-office'")
    output = sip_account(playbook, number="+390212345601", state="disabled", expect_rc=2)
    assert ("table sb_groups, row name = 'milano-office': the data column is not valid JSON (Unterminated string "
            "starting at: line 1 column 2 (char 1)): repair or delete the row, then run again") in one_line(output)
