"""platform_info through a real playbook on a damaged platform: it reports, it does not fail."""

import json
import shutil

import yaml

from conftest import DEMO_STATE, SIP_DOMAIN, sqlite_rows

ACCOUNT = "+390212345601"


def test_platform_info_reports_unknown_rows_damaged_rows_and_missing_credentials(playbook):
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    playbook.run()
    [(username,)] = sqlite_rows(playbook.dsn, "SELECT username FROM sb_accounts WHERE number = ?", (ACCOUNT,))
    sqlite_rows(playbook.dsn, "DELETE FROM subscriber WHERE username = ?", (username,))
    sqlite_rows(playbook.dsn, "INSERT INTO subscriber (username, domain, ha1, ha1b) VALUES ('9999', ?, 'x', 'y')",
                (SIP_DOMAIN,))
    [(broken,)] = sqlite_rows(playbook.dsn, "SELECT number FROM sb_accounts WHERE number != ? ORDER BY 1 LIMIT 1",
                              (ACCOUNT,))
    sqlite_rows(playbook.dsn, "UPDATE sb_accounts SET data = '{\"owner\": ' WHERE number = ?", (broken,))

    gathered_file = playbook.tmp_path / "gathered.json"
    path = playbook.tmp_path / "info.yml"
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [
        {"switchboard.pbx.platform_info": {"dsn": "{{ switchboard_pbx_dsn }}",
                                           "sip_domain": "{{ switchboard_sip_domain }}"}, "register": "actual"},
        {"ansible.builtin.copy": {"content": "{{ actual | to_json }}", "dest": str(gathered_file)}}]}]))
    output = playbook.run(playbook=str(path))
    gathered = json.loads(gathered_file.read_text())
    assert gathered["unmanaged"] == [{
        "address": "kamailio/subscriber/9999@pbx.test.example", "rows": ["9999@pbx.test.example"],
        "reasons": ["no account has username '9999': Kamailio would accept this credential"]}]
    problem = ("table sb_accounts, row number = %r (account %s): the data column is not valid JSON (Expecting value: "
               "line 1 column 11 (char 10)): repair or delete the row, then run again" % (broken, broken))
    assert gathered["unreadable"] == [{"table": "sb_accounts", "key": broken, "problem": problem}]
    assert broken not in [a["number"] for a in gathered["state"]["accounts"]]
    status = gathered["account_status"][ACCOUNT]
    assert (status["enabled"], status["subscriber_row"]) == (False, "missing")
    assert "[WARNING]: " + problem in " ".join(output.split())

    failed = playbook.run(expect_rc=2)
    assert problem in failed and "Traceback" not in failed
