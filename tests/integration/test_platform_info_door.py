"""switchboard.pbx.platform_info reads what exists, says what it read, and survives missing rows."""

import json
import shutil

import yaml

from conftest import DEMO_STATE, SIP_DOMAIN, Playbook, db_rows


def info(playbook, expect_rc=0, **arguments):
    arguments = dict({"dsn": "{{ switchboard_pbx_dsn }}", "sip_domain": "{{ switchboard_sip_domain }}"}, **arguments)
    result_file = playbook.tmp_path / "info.json"
    path = playbook.tmp_path / "info.yml"
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [
        {"switchboard.pbx.platform_info": arguments, "register": "info"},
        {"ansible.builtin.copy": {"content": "{{ info | to_json }}", "dest": str(result_file)}}]}], sort_keys=False))
    output = playbook.run(playbook=str(path), expect_rc=expect_rc)
    return output, (json.loads(result_file.read_text()) if expect_rc == 0 else None)


def one_line(output):
    return " ".join(output.split())


def test_a_missing_subscriber_row_is_reported_not_a_crash(tmp_path, pbx_dsn):
    playbook = Playbook(tmp_path, pbx_dsn)
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    playbook.run()
    db_rows(pbx_dsn, "DELETE FROM subscriber WHERE username = '4101'")
    output, result = info(playbook, kinds=["accounts"])
    assert result["account_status"]["+390212345601"] == {
        "last_status": "created", "last_status_date": result["account_status"]["+390212345601"]["last_status_date"],
        "enabled": False, "subscriber_row": "missing",
        "history": [{"at": result["account_status"]["+390212345601"]["last_status_date"], "event": "created", "detail": None}]}
    assert result["account_status"]["+390212345602"]["enabled"] is True
    assert ("[WARNING]: 1 account(s) have no subscriber row in domain %s and cannot register: +390212345601"
            % SIP_DOMAIN) in one_line(output)
    assert result["sip_domain"] == SIP_DOMAIN
    if pbx_dsn.startswith("sqlite:"):
        assert result["database"] == {"engine": "sqlite", "path": "/" + pbx_dsn[len("sqlite://"):].lstrip("/")}
    else:
        assert result["database"]["engine"] == "postgresql" and result["database"]["database"] in pbx_dsn


def test_another_domain_is_named(tmp_path, sqlite_dsn):
    playbook = Playbook(tmp_path, sqlite_dsn)
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    playbook.run()
    output, _result = info(playbook, kinds=["accounts"], sip_domain="typo.example", expect_rc=2)
    assert ("the PBX database belongs to the SIP domain '%s', this run is for 'typo.example'" % SIP_DOMAIN
            ) in one_line(output)


def test_a_sqlite_file_that_does_not_exist_is_refused(tmp_path, sqlite_dsn):
    playbook = Playbook(tmp_path, sqlite_dsn)
    output, _result = info(playbook, expect_rc=2)
    assert ("the PBX database file %s does not exist: there is nothing to read (check the DSN)"
            % ("/" + sqlite_dsn[len("sqlite://"):].lstrip("/"))) in one_line(output)
    assert not (tmp_path / "db").exists()


def test_a_database_that_was_never_initialised_is_refused(tmp_path, pbx_dsn):
    playbook = Playbook(tmp_path, pbx_dsn)
    if pbx_dsn.startswith("sqlite:"):
        (tmp_path / "db").mkdir()
        (tmp_path / "db" / "pbx.sqlite").write_bytes(b"")
    output, _result = info(playbook, expect_rc=2)
    where = "file %s" % "/" + pbx_dsn[len("sqlite://"):].lstrip("/") if pbx_dsn.startswith("sqlite:") else "'%s' on 127.0.0.1:" % (
        pbx_dsn.rsplit("/", 1)[1])
    assert "the PBX database %s" % where in one_line(output)
    assert "has no Switchboard tables: it was never initialised (switchboard.pbx.database), or the DSN names another " \
           "database" in one_line(output)
