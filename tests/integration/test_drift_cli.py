"""`switchboard drift` and `switchboard plan --detailed-exitcode` run for real: the exit codes a pipeline relies on
(0 in sync, 2 drift or changes, 1 error), the reports written, one summary line, and no secret anywhere."""

import json

import pytest

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine
from support.cli import completed as run_switchboard
from test_drift_engine import DESK1, DESK2, MOBILE, _activate, desk, state

PASSWORDS = ("Desk-5601-pw", "Desk-5602-pw")


@pytest.fixture
def platform(tmp_path, pbx_dsn):
    """A PBX holding two desk phones and a wizard mobile, and the settings that point at it, from the environment."""
    declared = state(desk(DESK1), desk(DESK2), {"number": MOBILE, "group": "field", "type": "pgsm", "activation": "wizard"},
                     provisioning_profiles=[{"name": "mobile", "base_url": "http://127.0.0.1:5080"}],
                     groups=[{"name": "office"}, {"name": "field", "provisioning_profile": "mobile"}])
    write_state(tmp_path / "state", {"s.yml": declared})
    engine.run(engine.Options(str(tmp_path / "state"), pbx_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "plans")))
    env = {"SWITCHBOARD_STATE_DIR": str(tmp_path / "state"), "SWITCHBOARD_PBX_DSN": pbx_dsn,
           "SWITCHBOARD_SIP_DOMAIN": SIP_DOMAIN, "SWITCHBOARD_REPORT_DIR": str(tmp_path / "plans")}
    return declared, env


def switchboard(tmp_path, env, *args):
    done = run_switchboard(list(args), env=env, cwd=tmp_path)
    assert "Traceback" not in done.stderr, done.stderr
    text = done.stdout + done.stderr
    assert [secret for secret in PASSWORDS if secret in text] == []
    return done


def test_in_sync_drift_and_plan_exit_0(tmp_path, platform):
    _declared, env = platform
    done = switchboard(tmp_path, env, "drift")
    assert (done.returncode, done.stdout) == (0, "no drift: 6 objects in sync (coverage 100.0 %): see ./drift.json\n")
    model = json.loads((tmp_path / "drift.json").read_text())
    assert (model["report"], model["summary"]["total"], model["summary"]["exit_code"]) == ("drift", 6, 0)
    assert model["context"]["platform"]["sip_domain"] == SIP_DOMAIN
    assert switchboard(tmp_path, env, "plan", "--detailed-exitcode").returncode == 0


def test_drift_exits_2_and_writes_the_report_where_asked(tmp_path, platform):
    declared, env = platform
    declared["accounts"][0]["owner"] = "Anna Bianchi"
    write_state(tmp_path / "state", {"s.yml": declared})
    done = switchboard(tmp_path, env, "drift", "--format", "json", "--output", "out")
    assert (done.returncode, done.stdout) == (2, "drift: 1 changed (coverage 100.0 %): see out/drift.json\n")
    model = json.loads((tmp_path / "out" / "drift.json").read_text())
    assert [(o["address"], o["fields"]) for o in model["objects"] if o["status"] != "in_sync"] == [
        ("accounts/" + DESK1, ["owner"])]
    assert [secret for secret in PASSWORDS if secret in json.dumps(model)] == []
    plan = switchboard(tmp_path, env, "plan", "--detailed-exitcode")
    assert plan.returncode == 2
    assert switchboard(tmp_path, env, "plan").returncode == 0  # without the flag, changes are no failure


def test_a_bad_state_file_exits_1_with_the_problem_and_writes_no_report(tmp_path, platform):
    _declared, env = platform
    (tmp_path / "state" / "bad.yml").write_text("accounts:\n  - number: '+390212345609'\n    group: office\n"
                                                "    colour: blue\n")
    done = switchboard(tmp_path, env, "drift", "--output", "out")
    assert done.returncode == 1
    assert done.stderr.splitlines()[1] == (
        "bad.yml: accounts[0]: unknown field ('colour' was unexpected) (rule: schema: additionalProperties)")
    assert not (tmp_path / "out").exists()
    assert switchboard(tmp_path, env, "plan", "--detailed-exitcode").returncode == 1


def test_only_server_owned_fields_differ_exits_0(tmp_path, platform, pbx_dsn):
    _declared, env = platform
    _activate(pbx_dsn, MOBILE)
    done = switchboard(tmp_path, env, "drift")
    assert (done.returncode, done.stdout) == (0, "no drift: 6 objects in sync (coverage 100.0 %): see ./drift.json\n")
    assert switchboard(tmp_path, env, "plan", "--detailed-exitcode").returncode == 0


def test_an_unreadable_row_exits_1_not_2(tmp_path, platform, pbx_dsn):
    _declared, env = platform
    db_rows(pbx_dsn, "UPDATE sb_accounts SET data = 'not json' WHERE number = ?", (DESK2,))
    done = switchboard(tmp_path, env, "drift")
    assert (done.returncode, done.stdout) == (
        1, "no drift: 5 objects in sync, 1 unreadable (coverage 100.0 %): see ./drift.json\n")


def test_missing_settings_and_a_bad_format_are_errors_not_drift(tmp_path, platform):
    _declared, env = platform
    done = switchboard(tmp_path, {}, "drift")
    assert (done.returncode, done.stderr) == (1, "switchboard: error: --state-dir (or SWITCHBOARD_STATE_DIR, or "
                                                 "switchboard_state_dir in --inventory) is required; --dsn (or "
                                                 "SWITCHBOARD_PBX_DSN, or switchboard_pbx_dsn in --inventory) is "
                                                 "required; --sip-domain (or SWITCHBOARD_SIP_DOMAIN, or "
                                                 "switchboard_sip_domain in --inventory) is required\n")
    assert switchboard(tmp_path, env, "drift", "--format", "pdf").returncode == 1
    fleet = switchboard(tmp_path, env, "drift", "--fleet")
    assert (fleet.returncode, fleet.stderr) == (
        1, "switchboard: error: --fleet needs --ssh-user (or SWITCHBOARD_FLEET_SSH_USER); --fleet needs --ssh-key-file "
           "(or SWITCHBOARD_FLEET_SSH_KEY_FILE); --fleet needs --known-hosts (or SWITCHBOARD_FLEET_KNOWN_HOSTS)\n")


def test_every_format_is_written_and_reads_back_with_the_same_exit_code(tmp_path, platform):
    declared, env = platform
    declared["accounts"][1]["owner"] = "Bruno Neri"
    write_state(tmp_path / "state", {"s.yml": declared})
    done = switchboard(tmp_path, env, "drift", "--format", "json", "--format", "md", "--format", "html",
                       "--format", "junit", "--output", "out")
    assert (done.returncode, done.stdout) == (2, "drift: 1 changed (coverage 100.0 %): see out/drift.html\n")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "drift.html", "drift.json", "drift.junit.xml", "drift.md"]
    again = switchboard(tmp_path, env, "report", "out/drift.json", "--format", "md")  # the published schema holds
    assert again.returncode == 2 and "accounts/" + DESK2 in again.stdout
    for name in ("drift.md", "drift.html", "drift.junit.xml"):
        assert [s for s in PASSWORDS if s in (tmp_path / "out" / name).read_text()] == []
