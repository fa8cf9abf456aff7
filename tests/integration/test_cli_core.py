"""The `switchboard` command's core, run for real: plan (--out, --detailed-exitcode), apply (--plan: a saved plan
applied only while it holds), settings from flags > environment > inventory, the vault, search, history, and
progress bars only on a terminal."""

import json
import os
import pty
import shutil
import subprocess
import sys

import pytest

from conftest import DEMO_STATE, REPO, SIP_DOMAIN, db_rows, write_state
from support.cli import LAUNCHER, run_switchboard, switchboard_env

DEMO_PASSWORDS = ("Reception-Desk-2026", "Accounts-Desk-2026")
DEMO_INVENTORY = REPO / "inventories" / "demo"


@pytest.fixture
def demo(tmp_path, pbx_dsn):
    """The demo's state in a scratch directory, the settings in the environment, on SQLite and PostgreSQL."""
    state = tmp_path / "state"
    shutil.copytree(DEMO_STATE, state)
    env = switchboard_env(SWITCHBOARD_STATE_DIR=state, SWITCHBOARD_PBX_DSN=pbx_dsn, SWITCHBOARD_SIP_DOMAIN=SIP_DOMAIN,
                          SWITCHBOARD_REPORT_DIR=tmp_path / "reports")
    return tmp_path, state, env, pbx_dsn


def owner_of(dsn, number):
    return json.loads(db_rows(dsn, "SELECT data FROM sb_accounts WHERE number = ?", (number,))[0][0])["owner"]


def test_plan_exit_codes_and_a_saved_plan_without_secrets(demo):
    tmp_path, state, env, dsn = demo
    _rc, out, _err = run_switchboard(["plan", "--detailed-exitcode", "--out", tmp_path / "plan.json"], env,
                                     expect_rc=2)
    assert out.splitlines()[0] == ("would create 5 accounts, 2 groups, 7 numbers, 2 devices, 1 network list and 1 "
                                   "provisioning profile (check mode: nothing was written)")
    assert "plan saved to %s: apply exactly it with `switchboard apply --plan %s`" % (
        tmp_path / "plan.json", tmp_path / "plan.json") in out
    text = (tmp_path / "plan.json").read_text()
    plan = json.loads(text)
    assert (plan["report"], plan["summary"]["missing"], plan["summary"]["exit_code"]) == ("plan", 18, 2)
    assert plan["context"]["platform"]["sip_domain"] == SIP_DOMAIN
    assert set(plan["apply_check"]["objects"]) == {o["address"] for o in plan["objects"]}
    assert oct(os.stat(tmp_path / "plan.json").st_mode & 0o777) == "0o600"
    assert not any(password in text for password in DEMO_PASSWORDS)
    _rc, out, _err = run_switchboard(["report", tmp_path / "plan.json", "--format", "md"], env, expect_rc=2)
    assert "accounts/+390212345601" in out  # a saved plan is a report the report command renders
    run_switchboard(["plan"], env, expect_rc=0)  # changes, but no --detailed-exitcode: 0
    run_switchboard(["apply"], env, expect_rc=0)
    ha1s = [row[0] for row in db_rows(dsn, "SELECT ha1 FROM subscriber")]
    _rc, out, _err = run_switchboard(["plan", "--detailed-exitcode", "--out", tmp_path / "again.json"], env,
                                     expect_rc=0)
    assert out.splitlines()[0] == "no change planned: the platform matches the declared state"
    assert json.loads((tmp_path / "again.json").read_text())["summary"]["exit_code"] == 0
    assert not any(ha1 in text for ha1 in ha1s)


def test_errors_exit_1_and_write_no_plan(demo):
    tmp_path, state, env, _dsn = demo
    (state / "broken.yml").write_text("groups:\n  - name: x\n    colour: red\n")
    rc, out, err = run_switchboard(["plan", "--detailed-exitcode", "--out", tmp_path / "plan.json"], env)
    assert rc == 1 and "1 problem in the declared state, nothing was written:\nbroken.yml: groups[0]" in err
    assert not (tmp_path / "plan.json").exists()
    _rc, _out, err = run_switchboard(["plan", "--detailed-exitcod"], env, expect_rc=1)
    assert err == "switchboard: error: No such option '--detailed-exitcod'. Did you mean '--detailed-exitcode'?\n"


def test_a_saved_plan_is_refused_after_a_concurrent_change_and_applied_when_nothing_moved(demo):
    tmp_path, state, env, dsn = demo
    run_switchboard(["apply"], env, expect_rc=0)
    office = state / "milano-office.yml"
    office.write_text(office.read_text().replace("description: Reception desk", "description: Front desk"))
    run_switchboard(["plan", "--detailed-exitcode", "--out", tmp_path / "plan.json"], env, expect_rc=2)
    # Someone changes the account on the platform between the review and the apply.
    data = json.loads(db_rows(dsn, "SELECT data FROM sb_accounts WHERE number = ?", ("+390212345601",))[0][0])
    data["owner"] = "Somebody Else"
    db_rows(dsn, "UPDATE sb_accounts SET data = ? WHERE number = ?", (json.dumps(data), "+390212345601"))
    _rc, out, err = run_switchboard(["apply", "--plan", tmp_path / "plan.json"], env, expect_rc=1)
    assert err == ("switchboard: error: the saved plan %s no longer holds, nothing was written: accounts/+390212345601 "
                   "changed on the platform since the plan was made (owner); plan again\n" % (tmp_path / "plan.json"))
    assert out == ""
    assert owner_of(dsn, "+390212345601") == "Somebody Else"  # nothing written
    assert json.loads(db_rows(dsn, "SELECT data FROM sb_accounts WHERE number = ?",
                              ("+390212345601",))[0][0])["description"] == "Reception desk"
    # Planned again and reviewed: nothing moves until the apply, which then writes exactly that.
    run_switchboard(["plan", "--out", tmp_path / "plan.json"], env, expect_rc=0)
    _rc, out, _err = run_switchboard(["apply", "--plan", tmp_path / "plan.json"], env, expect_rc=0)
    assert out.splitlines()[0] == "updated 1 account"
    assert owner_of(dsn, "+390212345601") == "Chiara Verdi"
    run_switchboard(["plan", "--detailed-exitcode"], env, expect_rc=0)


def test_a_saved_plan_is_refused_when_the_declared_state_moved(demo):
    tmp_path, state, env, _dsn = demo
    run_switchboard(["plan", "--out", tmp_path / "plan.json"], env, expect_rc=0)
    for path in state.glob("*.yml"):  # the group renamed, everywhere
        path.write_text(path.read_text().replace("field-sales", "field-sales-2"))
    _rc, _out, err = run_switchboard(["apply", "--plan", tmp_path / "plan.json"], env, expect_rc=1)
    assert "groups/field-sales is no longer declared as planned; " in err
    assert "groups/field-sales-2 now needs create, which the plan does not include; " in err
    assert "accounts/+393471234567 is declared differently than when the plan was made (group); " in err
    _rc, out, _err = run_switchboard(["plan"], env, expect_rc=0)
    assert out.startswith("would create 5 accounts, 2 groups")  # nothing was written


def test_a_saved_plan_names_the_platform_it_was_made_for(demo):
    tmp_path, _state, env, _dsn = demo
    run_switchboard(["plan", "--out", tmp_path / "plan.json"], env, expect_rc=0)
    _rc, _out, err = run_switchboard(["apply", "--plan", tmp_path / "plan.json", "--mode", "overridden"], env,
                                     expect_rc=1)
    assert "the plan was made for mode 'merged', this run is for 'overridden'" in err
    (tmp_path / "other.json").write_text('{"report": "drift"}')
    _rc, _out, err = run_switchboard(["apply", "--plan", tmp_path / "other.json"], env, expect_rc=1)
    assert err == ("switchboard: error: %s is not a plan written by `switchboard plan --out` (no apply_check)\n"
                   % (tmp_path / "other.json"))


def test_settings_from_an_inventory_with_flags_over_environment_over_inventory(tmp_path):
    plan = tmp_path / "plan.json"
    env = switchboard_env(SWITCHBOARD_INVENTORY=DEMO_INVENTORY, SWITCHBOARD_REPORT_DIR=tmp_path / "reports")
    demo_db = REPO / "var" / "demo" / "pbx.sqlite"
    existed = demo_db.exists()
    run_switchboard(["plan", "--out", plan], env, cwd=tmp_path, expect_rc=0)
    context = json.loads(plan.read_text())["context"]
    assert context["platform"] == {"sip_domain": "pbx.rossi-logistica.example",
                                   "database": {"engine": "sqlite", "path": str(demo_db)}}
    assert context["state"]["dir"] == str(DEMO_INVENTORY / "state")
    assert (tmp_path / "reports").is_dir() and demo_db.exists() == existed  # check mode creates no database
    env["SWITCHBOARD_SIP_DOMAIN"] = "from-env.example"
    run_switchboard(["plan", "--out", plan], env, cwd=tmp_path, expect_rc=0)
    assert json.loads(plan.read_text())["context"]["platform"]["sip_domain"] == "from-env.example"
    run_switchboard(["plan", "--out", plan, "--sip-domain", "from-flag.example"], env, cwd=tmp_path, expect_rc=0)
    assert json.loads(plan.read_text())["context"]["platform"]["sip_domain"] == "from-flag.example"


def test_the_pbx_host_of_an_inventory_is_the_one_outside_the_fleet(tmp_path):
    env = switchboard_env(SWITCHBOARD_REPORT_DIR=tmp_path / "reports", SWITCHBOARD_PBX_DSN="sqlite:///%s" % (
        tmp_path / "pbx.sqlite"))
    run_switchboard(["plan", "--inventory", REPO / "inventories" / "lab", "--out", tmp_path / "plan.json"], env,
                    cwd=tmp_path, expect_rc=0)
    lab = json.loads((tmp_path / "plan.json").read_text())["context"]
    assert lab["platform"]["sip_domain"] == "127.0.0.1" and lab["state"]["dir"] == str(REPO / "inventories/lab/state")
    hosts = tmp_path / "two.yml"
    hosts.write_text("all:\n  hosts:\n    pbx-a: {switchboard_sip_domain: a.example}\n    pbx-b: {}\n")
    _rc, _out, err = run_switchboard(["plan", "--inventory", hosts], env, cwd=tmp_path, expect_rc=1)
    assert err == ("switchboard: error: %s has 2 hosts (pbx-a, pbx-b) outside group fleet: name the PBX host with "
                   "--host\n" % hosts)
    _rc, _out, err = run_switchboard(["plan", "--inventory", hosts, "--host", "pbx-b"], env, cwd=tmp_path,
                                     expect_rc=1)
    assert err == ("switchboard: error: --state-dir (or SWITCHBOARD_STATE_DIR, or switchboard_state_dir in "
                   "--inventory) is required; --sip-domain (or SWITCHBOARD_SIP_DOMAIN, or switchboard_sip_domain in "
                   "--inventory) is required\n")


VAULT_PASSWORD = "correct horse battery staple"


def encrypt(text):
    from ansible.parsing.vault import VaultLib, VaultSecret

    return VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))]).encrypt(text.encode()).decode()


def test_vault_values_are_decrypted_with_the_vault_password_file(tmp_path, sqlite_dsn):
    lines = encrypt("Inline-Vault-Secret-1").strip().splitlines()
    write_state(tmp_path / "state", {
        "office.yml": "groups:\n  - name: office\naccounts:\n  - number: '+390212345601'\n    group: office\n"
                      "    username: '7001'\n    password: !vault |\n" + "".join("      %s\n" % l for l in lines)
                      + "  - number: '+390212345602'\n    group: office\n    username: '7002'\n",
        "sealed.yml": encrypt("accounts:\n  - number: '+390212345603'\n    group: office\n    username: '7003'\n"
                              "    password: Whole-File-Secret-3\n")})
    (tmp_path / "secrets.yml").write_text(encrypt("'+390212345602': From-Secrets-File-2\n"))
    (tmp_path / "vault-pass").write_text(VAULT_PASSWORD + "\n")
    env = switchboard_env(SWITCHBOARD_STATE_DIR=tmp_path / "state", SWITCHBOARD_PBX_DSN=sqlite_dsn,
                          SWITCHBOARD_SIP_DOMAIN=SIP_DOMAIN, SWITCHBOARD_REPORT_DIR=tmp_path / "reports",
                          SWITCHBOARD_SECRETS_FILE=tmp_path / "secrets.yml")
    _rc, _out, err = run_switchboard(["plan"], env, expect_rc=1)
    assert err == ("switchboard: error: the secrets file %s is encrypted with Ansible Vault and no vault secret given "
                   "to this run decrypts it (--vault-password-file or ANSIBLE_VAULT_PASSWORD_FILE)\n"
                   % (tmp_path / "secrets.yml"))
    env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(tmp_path / "vault-pass")
    _rc, out, err = run_switchboard(["apply"], env, expect_rc=0)
    assert out.splitlines()[0] == "created 3 accounts and 1 group"
    from ansible_collections.switchboard.pbx.plugins.module_utils.plan import ha1_pair

    assert sorted(db_rows(sqlite_dsn, "SELECT username, ha1 FROM subscriber")) == [
        ("7001", ha1_pair("7001", SIP_DOMAIN, "Inline-Vault-Secret-1")[0]),
        ("7002", ha1_pair("7002", SIP_DOMAIN, "From-Secrets-File-2")[0]),
        ("7003", ha1_pair("7003", SIP_DOMAIN, "Whole-File-Secret-3")[0])]
    assert not any(s in out + err for s in ("Inline-Vault", "From-Secrets", "Whole-File"))


def test_search_and_history(demo):
    _tmp_path, _state, env, _dsn = demo
    run_switchboard(["apply"], env, expect_rc=0)
    _rc, out, err = run_switchboard(["search", 'owner:"chiara verdi"'], env, expect_rc=0)
    assert out.startswith("accounts:\n- number: '+390212345601'\n  acl:\n  - deny: 0.0.0.0/0\n")
    assert "password" not in out and err == '1 account match owner:"chiara verdi"\n'
    _rc, out, _err = run_switchboard(["search", "--format", "json", "email:*rossi-logistica.example"], env,
                                     expect_rc=0)
    assert len(json.loads(out)["accounts"]) == 5
    _rc, _out, err = run_switchboard(["search", "owner~"], env, expect_rc=1)
    assert err.startswith("switchboard: error: query 'owner~': ")
    _rc, out, _err = run_switchboard(["history", "--account", "+393471234567"], env, expect_rc=0)
    lines = out.splitlines()
    assert lines[0].startswith("account +393471234567: created since ")
    assert any("created" in line for line in lines[1:])
    _rc, _out, err = run_switchboard(["history", "--account", "+399999"], env, expect_rc=1)
    assert err == "switchboard: error: the platform has no account +399999\n"


def test_progress_bars_on_a_terminal_only(demo):
    tmp_path, _state, env, _dsn = demo
    _rc, _out, err = run_switchboard(["plan"], env, expect_rc=0)
    assert "planning" not in err and "loading" not in err
    env["SWITCHBOARD_SMS_GATEWAY"] = "file://%s" % (tmp_path / "sms")  # the demo's wizard accounts get their SMS
    primary, secondary = pty.openpty()
    done = subprocess.run([sys.executable, "-c", LAUNCHER, "apply"], env=env, cwd=REPO, stdout=subprocess.PIPE,
                          stderr=secondary, timeout=300, check=False)
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    assert done.returncode == 0
    text = shown.decode()
    for phase in ("loading", "planning", "writing", "SMS dispatch"):
        assert phase in text
    assert "created 5 accounts" in done.stdout.decode()
    assert len(list((tmp_path / "sms").iterdir())) == 2
