"""The database options through real ansible-playbook runs: switchboard.pbx.database (create, migrate, recreate
dropped tables) and the platform's lock_timeout / keep_plan_files inventory variables."""

import json
import os
import shutil

import yaml

from conftest import DEMO_STATE, recap_changed, sqlite_rows


def database_task(playbook, expect_rc=0, **options):
    path = playbook.tmp_path / "database.yml"
    result = playbook.tmp_path / "database-result.json"
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [
        {"switchboard.pbx.database": dict(dsn="{{ switchboard_pbx_dsn }}", **options), "register": "db"},
        {"ansible.builtin.copy": {"content": "{{ db | to_json }}", "dest": str(result)}}]}], sort_keys=False))
    output = playbook.run(playbook=str(path), expect_rc=expect_rc)
    return output, (json.loads(result.read_text()) if expect_rc == 0 else None)


def test_the_database_module_creates_names_dropped_tables_and_recreates_them(playbook):
    output, result = database_task(playbook)
    assert result["changed"] and result["created"][-5:] == [
        "migration 2 (sb_meta: the platform's SIP domain)", "migration 3 (sb_trusted_peers: names and descriptions of trusted peers)",
        "migration 4 (sb_sms_outbox, sb_tokens, sb_history, sb_client_keys: the activation lifecycle)",
        "migration 5 (sb_applies: the audit trail of applies)",
        "migration 6 (an index of accounts by lifecycle status)"]
    output, result = database_task(playbook)
    assert not result["changed"] and result["created"] == []

    sqlite_rows(playbook.dsn, "DROP TABLE grp")
    output, _result = database_task(playbook, expect_rc=2)
    assert ("the PBX database is damaged: table grp (Kamailio's group module) is missing although the schema was "
            "created: restore it from a backup, or run switchboard.pbx.database with recreate_missing_tables: true to "
            "create it empty") in output
    output, result = database_task(playbook, recreate_missing_tables=True, lock_timeout=5)
    assert result["changed"] and result["created"] == ["grp (recreated empty)"]
    assert sqlite_rows(playbook.dsn, "SELECT count(*) FROM grp") == [(0,)]


def test_plan_files_kept_and_lock_timeout_from_the_inventory(playbook):
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    variables = {"switchboard_keep_plan_files": 2, "switchboard_pbx_lock_timeout": 7.5}
    assert recap_changed(playbook.run(extra_vars=variables)) == 1
    for _run in range(2):
        assert recap_changed(playbook.run(extra_vars=variables)) == 0
    assert len(os.listdir(playbook.report_dir)) == 2


def test_a_relative_sqlite_dsn_is_refused_by_the_playbook(playbook):
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    output = playbook.run(extra_vars={"switchboard_pbx_dsn": "sqlite://var/pbx.sqlite"}, expect_rc=2)
    # The DSN is a no_log argument: Ansible masks it even in the message.
    assert ("switchboard_pbx_dsn '********': a SQLite DSN is sqlite:///ABSOLUTE/PATH to a file below "
            "a directory, e.g. sqlite:///var/lib/switchboard/pbx.sqlite; relative paths and files at the filesystem "
            "root are refused") in output
