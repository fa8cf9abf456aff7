"""sip_account and platform_info through real playbooks, on the demo company."""

import json
import shutil

import yaml

from conftest import DEMO_STATE, recap_changed, sqlite_rows


def task_playbook(playbook, name, tasks):
    path = playbook.tmp_path / ("%s.yml" % name)
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": tasks}], sort_keys=False))
    return path


def connection():
    return {"dsn": "{{ switchboard_pbx_dsn }}", "sip_domain": "{{ switchboard_sip_domain }}"}


def sip_account(playbook, expect_rc=0, check=False, **fields):
    fields.update(connection())
    path = task_playbook(playbook, "account", [{"switchboard.pbx.sip_account": fields}])
    return playbook.run(*(["--check"] if check else []), "--diff", playbook=str(path), expect_rc=expect_rc)


def disabled_users(playbook):
    return {r[0] for r in sqlite_rows(playbook.dsn, "SELECT username FROM grp WHERE grp = 'disabled'")}


def test_sip_account_lifecycle(playbook):
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    playbook.run()

    assert recap_changed(sip_account(playbook, number="+390212345601", state="disabled", check=True)) == 1
    assert "4101" not in disabled_users(playbook)
    assert recap_changed(sip_account(playbook, number="+390212345601", state="disabled")) == 1
    assert "4101" in disabled_users(playbook)
    assert recap_changed(sip_account(playbook, number="+390212345601", state="disabled")) == 0
    assert recap_changed(sip_account(playbook, number="+390212345601", state="enabled")) == 1
    assert "4101" not in disabled_users(playbook)

    output = sip_account(playbook, number="+390212345603", group="milano-office", type="snom", username="4103",
                         password="Warehouse-Desk-1", owner="Luca Galli")
    assert recap_changed(output) == 1 and "Warehouse-Desk-1" not in output
    assert sqlite_rows(playbook.dsn, "SELECT username FROM dbaliases WHERE alias_username = '+390212345603'") == [("4103",)]
    assert recap_changed(sip_account(playbook, number="+390212345603", password="Warehouse-Desk-1")) == 0
    assert recap_changed(sip_account(playbook, number="+390212345603", owner="Luca Galli-Rossi")) == 1

    output = sip_account(playbook, expect_rc=2, number="+390212345604", group="milano-office", type="snom",
                         password="Another-Desk-1", additional_numbers=["101"])
    assert ("sip_account: accounts[0].additional_numbers: '101' is linked to account +390212345601 on the platform, "
            "which is not in the declared state (rule: a number belongs to at most one account)") in output

    assert recap_changed(sip_account(playbook, number="+390212345603", state="absent")) == 1
    assert sqlite_rows(playbook.dsn, "SELECT count(*) FROM subscriber WHERE username = '4103'") == [(0,)]
    assert recap_changed(playbook.run()) == 0  # the declared state was not disturbed

    # Deleting an account bound to a device logs it out of the device.
    assert recap_changed(sip_account(playbook, number="+390212345602", state="absent")) == 1
    assert sqlite_rows(playbook.dsn, "SELECT extension FROM sb_channels WHERE device = 'accounts-snom-d717'") == [(None,)]


def test_platform_info_gathers_the_declared_format(playbook):
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    playbook.run()
    gathered_file = playbook.tmp_path / "gathered.json"
    path = task_playbook(playbook, "info", [
        {"switchboard.pbx.platform_info": connection(), "register": "actual"},
        {"switchboard.pbx.platform_info": dict(connection(), kinds=["accounts"], query="Marco"), "register": "marcos"},
        {"ansible.builtin.copy": {"content": "{{ {'actual': actual, 'marcos': marcos} | to_json }}",
                                  "dest": str(gathered_file)}},
    ])
    output = playbook.run(playbook=str(path))
    gathered = json.loads(gathered_file.read_text())
    state = gathered["actual"]["state"]
    assert len(state["accounts"]) == 5 and len(state["devices"]) == 2
    assert sorted(a["owner"] for a in gathered["marcos"]["state"]["accounts"]) == ["Marco Bianchi", "Marco Rossi"]
    status = gathered["actual"]["account_status"]["+393471234567"]
    assert status["last_status"] == "created" and status["enabled"] is False
    ha1s = [r[0] for r in sqlite_rows(playbook.dsn, "SELECT ha1 FROM subscriber")]
    assert not any(h in output + gathered_file.read_text() for h in ha1s)
    assert "password" not in gathered_file.read_text()

    # Adoption: the gathered state, used as the declared state, changes nothing.
    shutil.rmtree(playbook.state_dir)
    playbook.state_dir.mkdir()
    (playbook.state_dir / "adopted.yml").write_text(yaml.safe_dump(state))
    assert recap_changed(playbook.run()) == 0
