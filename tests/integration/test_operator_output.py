"""Issue 6 §5 through real ansible-playbook runs: the task output in sentences, naming what changed,
each repeating warning once and summarised; search through platform_info's query."""

import json
import re
import shutil

from conftest import DEMO_STATE, file_digest, recap_changed, write_state
from test_modules import connection, task_playbook

NO_DICT = re.compile(r"\{'|'\w+': ")  # a Python dict repr, e.g. {'accounts': {'create': 5}}


def messages(output):
    """The lines of the debug task's msg list."""
    block = output.split('"msg": [', 1)[1].split("]\n}", 1)[0]
    return json.loads("[" + block + "]")


def warnings(output):
    return [line for line in output.splitlines() if line.startswith("[WARNING]: ")]


def test_the_demo_run_reads_as_sentences(playbook):
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    output = playbook.run("--check")
    lines = messages(output)
    assert lines[:3] == [
        "would create 5 accounts, 2 groups, 7 numbers, 2 devices, 1 network list and 1 provisioning profile "
        "(check mode: nothing was written)",
        "would create accounts: +393471234567, +393489876543, +393351112233, +390212345601 and +390212345602",
        "would create groups: milano-office and field-sales"]
    assert lines[-1].startswith("full plan (every change, secrets masked): %s/plan-" % playbook.report_dir)
    assert not NO_DICT.search(output)

    output = playbook.run()
    assert messages(output)[0] == ("created 5 accounts, 2 groups, 7 numbers, 2 devices, 1 network list "
                                   "and 1 provisioning profile")
    assert warnings(output) == [
        "[WARNING]: keepalive is on for 1 account (clients older than 11.1 cannot answer it and become unreachable, "
        "and it costs battery and traffic): +393351112233",
        "[WARNING]: 3 accounts have a plain-text password in the state (use !vault or the secrets file): "
        "+393351112233, +390212345601 and +390212345602",
        "[WARNING]: 2 SMS pending (393471234567.installation.1, 393489876543.installation.1): no SMS gateway is "
        "configured; set switchboard_sms_gateway and run again"]
    assert not NO_DICT.search(output)

    path = playbook.state_dir / "field-sales.yml"
    path.write_text(path.read_text().replace("Sales director, North", "Sales director, North-West"))
    organisation = playbook.state_dir / "organisation.yml"
    organisation.write_text(organisation.read_text().replace("Mobile sales force", "Mobile sales force, on the road"))
    output = playbook.run("--diff")
    assert messages(output)[:3] == ["updated 1 account and 1 group", "updated account: +393471234567",
                                    "updated group: field-sales"]
    assert not NO_DICT.search(output)

    output = playbook.run()
    assert recap_changed(output) == 0
    assert messages(output)[0] == "no change: the platform matches the declared state"


def test_many_changes_name_the_first_ten_then_point_to_the_plan_file(playbook):
    accounts = [{"number": "+3902123456%02d" % i, "group": "office", "type": "snom", "password": "Desk-password-%d" % i}
                for i in range(64)]
    write_state(playbook.state_dir, {"office.yml": {"groups": [{"name": "office"}], "accounts": accounts}})
    output = playbook.run()
    lines = messages(output)
    assert lines[0] == "created 64 accounts and 1 group"
    assert lines[1] == ("created accounts: %s and 54 more: see the plan file"
                        % ", ".join("+3902123456%02d" % i for i in range(10)))
    assert warnings(output) == [
        "[WARNING]: 64 accounts have a plain-text password in the state (use !vault or the secrets file): %s "
        "and 54 more" % ", ".join("+3902123456%02d" % i for i in range(10))]
    plan = json.loads(sorted(playbook.report_dir.iterdir())[-1].read_text())
    assert plan["summary"] == {"accounts": {"create": 64}, "groups": {"create": 1}}  # the same counts, for machines
    assert len(plan["changes"]) == 65

    output = playbook.run("-e", json.dumps({"switchboard_mode": "overridden", "switchboard_state_dir": str(
        write_state(playbook.tmp_path / "fewer", {"office.yml": {"groups": [{"name": "office"}],
                                                                 "accounts": accounts[:60]}}))}))
    assert messages(output)[:2] == ["deleted 4 accounts", "deleted accounts: +390212345660, +390212345661, "
                                    "+390212345662 and +390212345663"]


def test_the_plan_playbook_reads_as_sentences(playbook):
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    playbook.run()
    path = playbook.state_dir / "field-sales.yml"
    path.write_text(path.read_text().replace("owner: Marco Bianchi", "owner: Marco Bianchi-Verdi"))
    output = playbook.run(playbook="playbooks/plan.yml")
    told = messages(output)
    assert [told[0], told[2]] == ["would update 1 account (check mode: nothing was written)",
                                  "would update account: +393489876543"]
    assert told[1].startswith("incremental run: read and planned only what changed in field-sales.yml since the run of ")
    assert not NO_DICT.search(output)


def test_platform_info_searches_in_lucene_syntax(playbook):
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    playbook.run()
    found = playbook.tmp_path / "found.json"
    path = task_playbook(playbook, "search", [
        {"switchboard.pbx.platform_info": dict(connection(), kinds=["accounts"], query=query), "register": name}
        for name, query in (("phrase", '"Marco Rossi" OR number:+39335*'), ("email", "rossi-logistica -marco"),
                            ("number", "+390298765402"))] + [
        {"ansible.builtin.copy": {"content": "{{ {'phrase': phrase, 'email': email, 'number': number} | to_json }}",
                                  "dest": str(found)}}])
    playbook.run(playbook=str(path))
    owners = {name: sorted(a["owner"] for a in result["state"]["accounts"])
              for name, result in json.loads(found.read_text()).items()}
    assert owners == {"phrase": ["Giulio Marconi", "Marco Rossi"],
                      "email": ["Chiara Verdi", "Giulio Marconi", "Paolo Neri"],
                      "number": ["Giulio Marconi"]}

    path = task_playbook(playbook, "refused", [
        {"switchboard.pbx.platform_info": dict(connection(), kinds=["accounts"], query="Marco~1")}])
    output = playbook.run(playbook=str(path), expect_rc=2)
    assert "query 'Marco~1': fuzzy and proximity searches ('~') are not supported (character 6)" in output


def test_a_landline_wizard_and_a_locked_out_acl_write_nothing(playbook):
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    playbook.run()
    before = file_digest(playbook.dsn[len("sqlite://"):])
    sales = playbook.state_dir / "field-sales.yml"
    sales.write_text(sales.read_text().replace('"+393489876543"', '"+390212345688"'))
    office = playbook.state_dir / "milano-office.yml"
    office.write_text(office.read_text().replace("permit: 216.27.242.66/255.255.255.255", "deny: 216.27.242.66/32")
                      .replace("restricted_networks: head-office", "restricted_networks: head-office\n"
                               "    acl: [{deny: 0.0.0.0/0}, {permit: 198.51.100.0/24}]"))
    output = playbook.run(expect_rc=2)
    assert ("field-sales.yml: accounts[1].number: '+390212345688' is a fixed-line number: an activation SMS cannot "
            "reach it (rule: wizard activation needs a mobile number)") in output
    assert ("milano-office.yml: accounts[0].acl: the ACL denies every address: the account could never register "
            "(rule: an account must be allowed to register from some address)") in output
    assert ("milano-office.yml: accounts[1].restricted_networks: no address the ACL permits is inside network list(s) "
            "'head-office': the account could never register "
            "(rule: an account must be allowed to register from some address)") in output
    assert file_digest(playbook.dsn[len("sqlite://"):]) == before
