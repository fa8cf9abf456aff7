"""The Ansible integration sequence through real ansible-playbook runs on a real SQLite PBX."""

import hashlib
import json
import os
import shutil
import subprocess

import yaml

from conftest import DEMO_STATE, PARSE_CACHE, SIP_DOMAIN, file_digest, recap_changed, sqlite_rows, write_state

PLAIN_PASSWORDS = ["Reception-Desk-2026", "Accounts-Desk-2026", "Giulio-Marconi-2026"]


def copy_demo(playbook):
    shutil.copytree(DEMO_STATE, playbook.state_dir, dirs_exist_ok=True)


def test_check_apply_check_apply(playbook):
    copy_demo(playbook)
    db_path = playbook.dsn[len("sqlite://"):]

    output = playbook.run("--check", "--diff")
    assert recap_changed(output) == 1
    assert ("would create 5 accounts, 2 groups, 7 numbers, 2 devices, 1 network list and 1 provisioning profile "
            "(check mode: nothing was written)") in output
    assert "+owner: Marco Rossi" in output  # per-object lines in diff mode
    assert not os.path.exists(db_path), "check mode must not create the database"

    output = playbook.run("--diff")
    assert recap_changed(output) == 1
    assert sqlite_rows(playbook.dsn, "SELECT count(*) FROM subscriber") == [(5,)]
    assert sqlite_rows(playbook.dsn, "SELECT username FROM subscriber WHERE username IN ('4101', '4102', '5003') "
                                     "ORDER BY username") == [("4101",), ("4102",), ("5003",)]
    aliases = dict(sqlite_rows(playbook.dsn, "SELECT alias_username, username FROM dbaliases"))
    assert aliases["101"] == "4101" and aliases["+390298765402"] == "5003"
    # Wizard accounts start disabled until activated.
    disabled = {r[0] for r in sqlite_rows(playbook.dsn, "SELECT username FROM grp WHERE grp = 'disabled'")}
    wizard_users = {r[0] for r in sqlite_rows(playbook.dsn, "SELECT username FROM sb_accounts WHERE number IN "
                                                            "('+393471234567', '+393489876543')")}
    assert disabled == wizard_users
    ha1 = sqlite_rows(playbook.dsn, "SELECT ha1 FROM subscriber WHERE username = '4101'")[0][0]
    assert ha1 == hashlib.md5(("4101:%s:Reception-Desk-2026" % SIP_DOMAIN).encode()).hexdigest()
    assert sqlite_rows(playbook.dsn, "SELECT count(*) FROM subscriber WHERE password != ''") == [(0,)]
    assert sqlite_rows(playbook.dsn, "SELECT value FROM usr_preferences WHERE username = '4101' AND attribute = 'sb_net'"
                       ) == [("216.27.242.66/32",)]

    digest = file_digest(db_path)
    output = playbook.run("--check", "--diff")
    assert recap_changed(output) == 0
    assert file_digest(db_path) == digest
    output = playbook.run()
    assert recap_changed(output) == 0
    assert "no change: the platform matches the declared state" in output

    # Nothing secret anywhere: task output, diffs, reports, the database file.
    reports = [p.read_text() for p in playbook.report_dir.iterdir()]
    assert len(reports) == 4
    everything = "\n".join(playbook.outputs + reports)
    for password in PLAIN_PASSWORDS:
        assert password not in everything
        assert password.encode() not in open(db_path, "rb").read()
    assert ha1 not in everything
    # The module (run from Ansible's zip payload) caches parsed files by content; files with
    # plain-text passwords are not copied into the cache.
    cached = [p.read_text() for p in PARSE_CACHE.rglob("*.json")]
    assert any("rossi-logistica" not in text and "head-office" in text for text in cached)
    assert not any(password in text for text in cached for password in PLAIN_PASSWORDS)


def test_one_field_change_changes_exactly_that(playbook):
    copy_demo(playbook)
    playbook.run()
    usernames = dict(sqlite_rows(playbook.dsn, "SELECT number, username FROM sb_accounts"))
    path = playbook.state_dir / "field-sales.yml"
    path.write_text(path.read_text().replace("Sales director, North", "Sales director, North-West"))

    output = playbook.run("--diff")
    assert recap_changed(output) == 1
    assert '"updated 1 account",' in output
    plan = json.loads(sorted(playbook.report_dir.iterdir())[-1].read_text())
    assert [(c["address"], c["action"], c["fields"]) for c in plan["changes"]] == [
        ("accounts/+393471234567", "update", ["description"])]
    assert "-description: Sales director, North\n+description: Sales director, North-West" in output
    # Generated usernames are created once and read back, never regenerated.
    assert dict(sqlite_rows(playbook.dsn, "SELECT number, username FROM sb_accounts")) == usernames
    assert recap_changed(playbook.run()) == 0


def test_bad_input_writes_nothing(playbook):
    copy_demo(playbook)
    playbook.run()
    db_path = playbook.dsn[len("sqlite://"):]
    before = file_digest(db_path)
    path = playbook.state_dir / "field-sales.yml"
    path.write_text(path.read_text().replace('number: "+393489876543"', 'number: "+393489876543"\n    oops: 1')
                    .replace("group: field-sales\n    type: pgsm\n    activation: plain", "group: nowhere\n    type: pgsm\n    activation: plain"))
    output = playbook.run(expect_rc=2)
    assert "field-sales.yml: accounts[1]: unknown field ('oops' was unexpected) (rule: schema: additionalProperties)" in output
    assert file_digest(db_path) == before


def test_new_database_is_not_created_on_invalid_state(playbook):
    account = {"number": "+393471234567", "group": "missing", "password": "long-enough-1"}
    write_state(playbook.state_dir, {"a.yml": {"accounts": [account]}})
    output = playbook.run(expect_rc=2)
    assert "a.yml: accounts[0].group: group 'missing' is not declared (rule: a group must exist before accounts in it)" in output
    assert not os.path.exists(playbook.dsn[len("sqlite://"):])


def overridden_state(playbook, drop_reception):
    copy_demo(playbook)
    if drop_reception:
        path = playbook.state_dir / "milano-office.yml"
        data = yaml.safe_load(path.read_text())
        data["accounts"] = [a for a in data["accounts"] if a["number"] != "+390212345601"]
        data["devices"] = [d for d in data["devices"] if d["name"] != "reception-snom-d785"]
        path.write_text(yaml.safe_dump(data))


def test_overridden_deletes_only_in_that_mode(playbook):
    overridden_state(playbook, drop_reception=False)
    playbook.run()
    overridden_state(playbook, drop_reception=True)

    assert recap_changed(playbook.run()) == 0  # merged: undeclared objects stay
    assert sqlite_rows(playbook.dsn, "SELECT count(*) FROM sb_accounts WHERE number = '+390212345601'") == [(1,)]

    output = playbook.run("--diff", mode="overridden")
    assert recap_changed(output) == 1
    plan = json.loads(sorted(playbook.report_dir.iterdir())[-1].read_text())
    deleted = {c["address"]: c for c in plan["changes"]}
    assert deleted["accounts/+390212345601"]["steps"] == ["disable", "delete"]
    assert set(deleted) == {"accounts/+390212345601", "devices/reception-snom-d785"}
    assert sqlite_rows(playbook.dsn, "SELECT count(*) FROM sb_accounts WHERE number = '+390212345601'") == [(0,)]
    assert sqlite_rows(playbook.dsn, "SELECT count(*) FROM subscriber WHERE username = '4101'") == [(0,)]
    assert sqlite_rows(playbook.dsn, "SELECT count(*) FROM dbaliases WHERE username = '4101'") == [(0,)]
    assert recap_changed(playbook.run(mode="overridden")) == 0


def test_vault_inline_and_secrets_file(playbook, tmp_path):
    vault_password = tmp_path / "vault-pass"
    vault_password.write_text("correct horse battery staple\n")
    env = playbook.env()
    encrypt = [os.path.join(os.path.dirname(playbook_python()), "ansible-vault")]
    inline = subprocess.run(encrypt + ["encrypt_string", "--vault-password-file", str(vault_password),
                                       "Inline-Vault-Secret-1", "--name", "password"],
                            env=env, capture_output=True, text=True, check=True).stdout
    secrets = tmp_path / "secrets.yml"
    secrets.write_text("+390212345602: From-Secrets-File-2\n")  # unquoted: YAML would read an integer
    subprocess.run(encrypt + ["encrypt", "--vault-password-file", str(vault_password), str(secrets)],
                   env=env, check=True, capture_output=True)
    state = ("groups:\n  - name: office\naccounts:\n"
             "  - number: '+390212345601'\n    group: office\n    username: '7001'\n"
             + "\n".join("    " + line for line in inline.strip().splitlines()) + "\n"
             "  - number: '+390212345602'\n    group: office\n    username: '7002'\n")
    write_state(playbook.state_dir, {"office.yml": state})

    output = playbook.run("--diff", "--vault-password-file", str(vault_password),
                          extra_vars={"switchboard_secrets_file": str(secrets)})
    assert recap_changed(output) == 1
    assert "plain text" not in output
    rows = dict(sqlite_rows(playbook.dsn, "SELECT username, ha1 FROM subscriber"))
    assert rows["7001"] == hashlib.md5(("7001:%s:Inline-Vault-Secret-1" % SIP_DOMAIN).encode()).hexdigest()
    assert rows["7002"] == hashlib.md5(("7002:%s:From-Secrets-File-2" % SIP_DOMAIN).encode()).hexdigest()
    reports = "".join(p.read_text() for p in playbook.report_dir.iterdir())
    for secret in ("Inline-Vault-Secret-1", "From-Secrets-File-2"):
        assert secret not in output + reports

    output = playbook.run("--vault-password-file", str(vault_password),
                          extra_vars={"switchboard_secrets_file": str(secrets)})
    assert recap_changed(output) == 0


def playbook_python():
    import sys
    return sys.executable


def test_plan_playbook_shows_the_diff_and_writes_nothing(playbook):
    copy_demo(playbook)
    playbook.run()
    path = playbook.state_dir / "field-sales.yml"
    path.write_text(path.read_text().replace("owner: Marco Bianchi", "owner: Marco Bianchi-Verdi"))
    db_path = playbook.dsn[len("sqlite://"):]
    before = file_digest(db_path)
    output = playbook.run(playbook="playbooks/plan.yml")
    assert "would update 1 account (check mode: nothing was written)" in output
    assert "-owner: Marco Bianchi\n+owner: Marco Bianchi-Verdi" in output
    assert file_digest(db_path) == before
