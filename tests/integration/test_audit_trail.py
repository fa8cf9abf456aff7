"""The audit trail (issue 9): every apply records who ran it, when, through which door, from which git commit of the
state, the plan file's sha256, the mode and the counts, in the apply's own transaction; check runs and failed runs
record nothing; switchboard.pbx.platform_info and `switchboard history` list it. Real ansible-playbook runs, real
SQLite and PostgreSQL, a real git work tree as the state directory."""

import hashlib
import json
import pathlib
import shutil
import subprocess
from urllib.parse import urlparse

import pytest
import yaml

from conftest import DEMO_STATE, SIP_DOMAIN, Playbook, db_rows, write_state
from support.cli import completed as run_switchboard
from ansible_collections.switchboard.pbx.plugins.module_utils import audit, engine, provenance
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import SwitchboardError
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx import database

DEMO_PASSWORDS = ("Giulio-Marconi-2026", "Reception-Desk-2026", "Accounts-Desk-2026")
DEMO_CREATED = "created 5 accounts, 2 groups, 7 numbers, 2 devices, 1 network list and 1 provisioning profile"


def git(cwd, *args):
    return subprocess.run(["git", "-C", str(cwd), "-c", "user.name=Ada Ops", "-c", "user.email=ada@example.org"]
                          + list(args), check=True, capture_output=True, text=True).stdout.strip()


def demo_state_in_git(playbook):
    """The demo state as a git work tree of its own; returns its commit."""
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    git(playbook.state_dir, "init", "-q")
    git(playbook.state_dir, "add", "-A")
    git(playbook.state_dir, "commit", "-qm", "Demo platform")
    return git(playbook.state_dir, "rev-parse", "HEAD")


def recorded(dsn):
    """sb_applies as stored, oldest first."""
    return [dict(zip(audit.COLUMNS, row))
            for row in db_rows(dsn, "SELECT %s FROM sb_applies ORDER BY id" % ", ".join(audit.COLUMNS))]


def task(playbook, module, arguments, expect_rc=0):
    """One task of ``module`` with the connection arguments; returns (output, its registered result)."""
    arguments = dict({"dsn": "{{ switchboard_pbx_dsn }}", "sip_domain": "{{ switchboard_sip_domain }}"}, **arguments)
    result_file = playbook.tmp_path / "result.json"
    path = playbook.tmp_path / "task.yml"
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [
        {module: arguments, "register": "result"},
        {"ansible.builtin.copy": {"content": "{{ result | to_json }}", "dest": str(result_file)}}]}], sort_keys=False))
    output = playbook.run(playbook=str(path), expect_rc=expect_rc)
    return output, json.loads(result_file.read_text())


def history(dsn, *args):
    return run_switchboard(["history"] + list(args), env={"SWITCHBOARD_PBX_DSN": dsn, "SWITCHBOARD_SIP_DOMAIN": SIP_DOMAIN})


def test_every_apply_is_recorded_with_its_commit_and_counts_and_listed(tmp_path, pbx_dsn):
    playbook = Playbook(tmp_path, pbx_dsn)
    commit = demo_state_in_git(playbook)
    me = provenance.operator()

    # 1. An apply through site.yml: one row, naming the commit, the plan file and the task's counts.
    output = playbook.run()
    assert DEMO_CREATED in output
    [first] = recorded(pbx_dsn)
    plan_file = pathlib.Path(first["plan_file"])
    plan = json.loads(plan_file.read_text())
    assert first == {
        "id": first["id"], "at": first["at"], "operator": me, "controller_user": me, "door": "switchboard.pbx.platform",
        "mode": "merged", "state_dir": str(playbook.state_dir), "state_commit": commit, "state_dirty": 0,
        "plan_sha256": hashlib.sha256(plan_file.read_bytes()).hexdigest(), "plan_file": str(plan_file),
        "change_count": len(plan["changes"]), "summary": json.dumps(plan["summary"], sort_keys=True)}
    assert plan_file.parent == playbook.report_dir and len(plan["changes"]) == 18
    assert db_rows(pbx_dsn, "SELECT DISTINCT at FROM sb_journal") == [(first["at"],)]  # the same apply's journal

    # 2. Check mode, on a state with local edits: nothing recorded (the same INSERT, rolled back).
    sales = playbook.state_dir / "field-sales.yml"
    sales.write_text(sales.read_text().replace("owner: Marco Bianchi", "owner: Marco Bianchi-Verdi"))
    assert "would update 1 account (check mode: nothing was written)" in playbook.run("--check")
    assert len(recorded(pbx_dsn)) == 1

    # 3. The apply of the local edits says so (dirty); 4. a no-op apply is recorded too, marked by its counts.
    playbook.run()
    playbook.run()
    _first, edited, noop = recorded(pbx_dsn)
    assert (edited["state_commit"], edited["state_dirty"], edited["change_count"], edited["summary"]) == (
        commit, 1, 1, '{"accounts": {"update": 1}}')
    assert (noop["state_commit"], noop["state_dirty"], noop["change_count"], noop["summary"]) == (commit, 1, 0, "{}")

    # 5. A failed apply (invalid state) records nothing.
    sales.write_text(sales.read_text().replace("group: field-sales\n", "group: nowhere\n", 1))
    assert "(rule: " in playbook.run(expect_rc=2)
    assert len(recorded(pbx_dsn)) == 3

    # 6. The one-account door, which has no state directory.
    _output, changed = task(playbook, "switchboard.pbx.sip_account",
                            {"number": "+390212345601", "owner": "Front desk", "report_dir": str(playbook.report_dir)})
    assert changed["changed"]
    door = recorded(pbx_dsn)[-1]
    assert (door["door"], door["operator"], door["controller_user"], door["state_dir"], door["state_commit"],
            door["state_dirty"], door["summary"]) == ("switchboard.pbx.sip_account", me, me, None, None, None,
                                                      '{"accounts": {"update": 1}}')

    # platform_info lists them newest first, as many as asked.
    _output, info = task(playbook, "switchboard.pbx.platform_info", {"kinds": ["groups"], "applies_limit": 3})
    newest = [audit.entry(row) for row in reversed(recorded(pbx_dsn))][:3]
    assert info["applies"] == newest
    assert [a["message"] for a in info["applies"]] == [
        "updated 1 account", "no change: the platform matches the declared state", "updated 1 account"]
    assert newest[1]["state_dirty"] is True and newest[1]["summary"] == {}

    # switchboard history: one line per apply, newest first; --format json carries every field.
    done = history(pbx_dsn)
    assert (done.returncode, done.stderr) == (0, "")
    rows = [audit.entry(row) for row in reversed(recorded(pbx_dsn))]
    assert done.stdout.splitlines() == [
        "%s UTC  %s  switchboard.pbx.sip_account (merged)  state not in git  updated 1 account" % (rows[0]["at"], me),
        "%s UTC  %s  switchboard.pbx.platform (merged)  commit %s with local edits  no change: the platform matches "
        "the declared state" % (rows[1]["at"], me, commit[:12]),
        "%s UTC  %s  switchboard.pbx.platform (merged)  commit %s with local edits  updated 1 account"
        % (rows[2]["at"], me, commit[:12]),
        "%s UTC  %s  switchboard.pbx.platform (merged)  commit %s  %s" % (rows[3]["at"], me, commit[:12], DEMO_CREATED)]
    done = history(pbx_dsn, "--format", "json", "--limit", "2")
    assert done.returncode == 0
    assert json.loads(done.stdout)["applies"] == rows[:2]

    # Never a secret: no password, no HA1, no DSN (nor its password) in the table or in what lists it.
    dump = json.dumps(recorded(pbx_dsn)) + json.dumps(info["applies"]) + history(pbx_dsn, "--format", "json").stdout
    secrets = list(DEMO_PASSWORDS) + [pbx_dsn] + [ha1 for (ha1,) in db_rows(pbx_dsn, "SELECT ha1 FROM subscriber")]
    secrets += [urlparse(pbx_dsn).password] if urlparse(pbx_dsn).password else []
    for secret in secrets:
        assert secret not in dump


def test_a_version_4_database_is_upgraded_in_place(tmp_path, pbx_dsn):
    state = write_state(tmp_path / "state", {"s.yml": {"groups": [{"name": "office"}], "accounts": [
        {"number": "+390212345601", "group": "office", "type": "snom", "username": "7001", "password": "Desk-7001-pw"}]}})
    options = engine.Options(str(state), pbx_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"))
    engine.run(options)
    db_rows(pbx_dsn, "DROP TABLE sb_applies")  # what schema version 4 had: migration 5 adds the table
    db_rows(pbx_dsn, "DROP INDEX sb_accounts_last_status_idx")  # and migration 6 this index
    db_rows(pbx_dsn, "UPDATE sb_schema SET version = 4")
    accounts = db_rows(pbx_dsn, "SELECT number, username, data FROM sb_accounts")
    has_table = ("SELECT name FROM sqlite_master WHERE name = 'sb_applies'" if pbx_dsn.startswith("sqlite:")
                 else "SELECT tablename FROM pg_tables WHERE tablename = 'sb_applies'")

    # Readers and check runs see the new table (migrated in a transaction that is rolled back), and leave it so.
    assert audit.applies(pbx_dsn, SIP_DOMAIN) == []
    assert engine.run(engine.Options(str(state), pbx_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"),
                                     check_mode=True))["changes"] == []
    assert (db_rows(pbx_dsn, "SELECT version FROM sb_schema"), db_rows(pbx_dsn, has_table)) == ([(4,)], [])

    assert engine.run(options)["changes"] == []
    assert (db_rows(pbx_dsn, "SELECT version FROM sb_schema"), db_rows(pbx_dsn, has_table)) == ([(6,)], [("sb_applies",)])
    assert db_rows(pbx_dsn, "SELECT number, username, data FROM sb_accounts") == accounts
    [applied] = audit.applies(pbx_dsn, SIP_DOMAIN)
    assert (applied["door"], applied["change_count"], applied["message"]) == (
        "engine", 0, "no change: the platform matches the declared state")


def test_one_insert_per_apply_whatever_its_size(tmp_path, sqlite_dsn, sqlite_statements):
    accounts = [{"number": "+39021234%04d" % i, "group": "office", "type": "snom", "password": "Desk-password-%d" % i}
                for i in range(50)]
    state = write_state(tmp_path / "state", {"s.yml": {"groups": [{"name": "office"}], "accounts": accounts}})
    statements = sqlite_statements
    statements.clear()  # what ran before this point is not the subject
    engine.run(engine.Options(str(state), sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))
    assert [s.split(" (")[0] for s in statements if "sb_applies" in s and not s.startswith("CREATE")] == [
        "INSERT INTO sb_applies"]
    assert recorded(sqlite_dsn)[0]["change_count"] == 51


def test_an_apply_that_fails_after_recording_leaves_no_record(tmp_path, pbx_dsn, monkeypatch):
    """The record is in the apply's transaction: whatever rolls the apply back takes the record with it."""
    state = write_state(tmp_path / "state", {"s.yml": {"groups": [{"name": "office"}]}})
    options = engine.Options(str(state), pbx_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"))
    engine.run(options)
    write_state(state, {"s.yml": {"groups": [{"name": "office"}, {"name": "sales"}]}})
    real_record = audit.record

    def record_then_fail(*args):
        real_record(*args)
        raise SwitchboardError("the disk went away")
    monkeypatch.setattr(audit, "record", record_then_fail)
    with pytest.raises(SwitchboardError, match="^the disk went away$"):
        engine.run(options)
    assert [row["summary"] for row in recorded(pbx_dsn)] == ['{"groups": {"create": 1}}']
    assert db_rows(pbx_dsn, "SELECT name FROM sb_groups") == [("office",)]


def test_history_errors_and_an_empty_trail(tmp_path, sqlite_dsn):
    missing = str(tmp_path / "db" / "pbx.sqlite")
    done = history(sqlite_dsn)
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "", "switchboard: error: the PBX database file %s does not exist: there is nothing to read (check the DSN)\n"
        % missing)
    database.initialise(sqlite_dsn)
    done = history(sqlite_dsn)
    assert (done.returncode, done.stdout, done.stderr) == (0, "no apply recorded yet\n", "")
    done = history(sqlite_dsn, "--limit", "-1")
    assert done.returncode == 1 and "Invalid value for '--limit': -1 is not in the range x>=0." in done.stderr
    done = run_switchboard(["history"], env={"SWITCHBOARD_PBX_DSN": ""})
    assert (done.returncode, done.stderr) == (1, "switchboard: error: --dsn (or SWITCHBOARD_PBX_DSN, or switchboard_pbx_dsn in --inventory) is required\n")
    with pytest.raises(SwitchboardError, match=r"^the number of applies to list must be 0 \(all\) or more, not -1$"):
        audit.applies(sqlite_dsn, SIP_DOMAIN, -1)
