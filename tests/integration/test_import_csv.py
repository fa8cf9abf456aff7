# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 9, batch creation (seed 003, SPEC §5): `switchboard import-csv` run for real. Every row is checked
against the whole declared state; a bad file writes nothing and names every bad row by line and column; a
good one becomes ONE new state file that plan and apply then take (with the wizard's installation SMS)."""

from __future__ import annotations

import json
import os
import re

import pytest
import yaml

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import declared, engine
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState
from support.cli_csv import run_switchboard

HEADER = "fullName,gsmNumber,email,securityModel,description\n"
# Seed 003's example, row for row (the seed's page lost the line breaks; the header names five columns).
SEED_ROWS = HEADER + (
    "Alessandro Bergamaschi,+391234567890,,end-to-site,Personal account\n"
    "Luigi Rossi,+3932456753,,end-to-site,Personal account\n"
    "Marco Bianchi,+39432242342,,end-to-site,Personal account\n"
    "Mario Colombo,+394325346546,,end-to-site,Personal account\n")
# The same people with Italian mobile numbers: what an operator fixes the seed's rows into.
CORRECTED = ["+393471234501", "+393471234502", "+393471234503", "+394325346546"]
SEED_CORRECTED = HEADER + "".join(
    "%s,%s,,end-to-site,Personal account\n" % (name, number)
    for name, number in zip(["Alessandro Bergamaschi", "Luigi Rossi", "Marco Bianchi", "Mario Colombo"], CORRECTED))

BASE_URL = "http://127.0.0.1:5080"
MARCO_ROSSI, GIULIA_SECONDARY = "+393470000001", "+393470000002"
STATE = {
    "provisioning_profiles": [{"name": "default", "base_url": BASE_URL}, {"name": "bare"}],
    "groups": [{"name": "sales", "provisioning_profile": "default"}],
    "accounts": [{"number": MARCO_ROSSI, "group": "sales", "type": "pgsm", "activation": "wizard",
                  "owner": "Marco Rossi", "secondary_number": GIULIA_SECONDARY}],
}
IMPORT_NAME = re.compile(r"import-\d{8}T\d{6}Z-sales\.yml")


@pytest.fixture
def state_dir(tmp_path):
    return write_state(tmp_path / "state", {"org.yml": STATE})


def csv_file(tmp_path, text, name="users.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def import_csv(state_dir, path, *options):
    return run_switchboard(["--state-dir", state_dir, "import-csv", path, "--group", "sales", "--profile", "default"]
                           + list(options))


def listing(directory):
    return sorted(os.listdir(directory))


def imported_file(state_dir):
    names = [name for name in listing(state_dir) if name != "org.yml"]
    assert len(names) == 1 and IMPORT_NAME.fullmatch(names[0]), names
    return state_dir / names[0]


def refused(done, path, lines):
    """Exit 1, every problem as `FILE: line N: column: message (rule: ...)`, then the count."""
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["%s: %s" % (path, line) for line in lines] + [
        "%d problem%s in %s: nothing was written" % (len(lines), "" if len(lines) == 1 else "s", path)]


# -- the seed's own rows ------------------------------------------------------------------------------

def test_the_seeds_rows_as_wizard_accounts_are_refused_for_the_three_numbers_no_sms_can_reach(tmp_path, state_dir):
    path = csv_file(tmp_path, SEED_ROWS)
    done = import_csv(state_dir, path)
    unreachable = ("is in no allocated range of its country's numbering plan: an activation SMS cannot reach it "
                   "(rule: wizard activation needs a mobile number)")
    refused(done, path, ["line 2: gsmNumber: '+391234567890' %s" % unreachable,
                         "line 3: gsmNumber: '+3932456753' %s" % unreachable,
                         "line 4: gsmNumber: '+39432242342' %s" % unreachable])
    assert listing(state_dir) == ["org.yml"]


def test_the_seeds_rows_corrected_import_plan_to_four_creates_and_apply_with_four_installation_sms(
        tmp_path, state_dir, pbx_dsn):
    reports = str(tmp_path / "reports")
    engine.run(engine.Options(str(state_dir), pbx_dsn, SIP_DOMAIN, report_dir=reports,  # the state before the import
                              sms_gateway="file://%s" % (tmp_path / "earlier-sms")))
    path = csv_file(tmp_path, SEED_CORRECTED)
    done = import_csv(state_dir, path)
    assert done.returncode == 0, done.stderr
    written = imported_file(state_dir)
    assert done.stdout.splitlines() == [
        "added 4 accounts to group sales (profile default, wizard activation): wrote %s" % written,
        "the apply will queue 4 installation SMS, one per account",
        "next: review and commit it, then `switchboard plan`"]
    assert done.stderr == ""
    accounts = [{"number": number, "group": "sales", "type": "pgsm", "activation": "wizard",
                 "provisioning_profile": "default", "security_model": "end-to-site", "owner": owner,
                 "description": "Personal account"}
                for number, owner in zip(CORRECTED, ["Alessandro Bergamaschi", "Luigi Rossi", "Marco Bianchi",
                                                     "Mario Colombo"])]
    assert yaml.safe_load(written.read_text()) == {"accounts": accounts}

    # The normal flow takes it: the plan shows exactly the four new accounts.
    env = {"SWITCHBOARD_STATE_DIR": str(state_dir), "SWITCHBOARD_PBX_DSN": pbx_dsn,
           "SWITCHBOARD_SIP_DOMAIN": SIP_DOMAIN, "SWITCHBOARD_REPORT_DIR": reports}
    planned = run_switchboard(["plan", "--detailed-exitcode"], env=env)
    assert planned.returncode == 2, planned.stdout + planned.stderr
    plan = engine.run(engine.Options(str(state_dir), pbx_dsn, SIP_DOMAIN, report_dir=reports, check_mode=True))
    assert plan["changes"] == ["create accounts/%s" % number for number in CORRECTED]
    assert plan["warnings"] == [] and plan["sms"]["would_send"] == [
        "would send installation SMS to %s" % number for number in CORRECTED]

    sms_dir = tmp_path / "sms"
    applied = engine.run(engine.Options(str(state_dir), pbx_dsn, SIP_DOMAIN, report_dir=reports,
                                        sms_gateway="file://%s" % sms_dir))
    assert applied["summary"] == {"accounts": {"create": 4}}
    assert sorted((m["to"], m["stage"]) for m in map(json.loads, (p.read_text() for p in sms_dir.glob("*.json")))) == [
        (number, "installation") for number in sorted(CORRECTED)]
    assert db_rows(pbx_dsn, "SELECT account, stage, state FROM sb_sms_outbox WHERE account <> ? ORDER BY account",
                   (MARCO_ROSSI,)) == [(number, "installation", "accepted") for number in sorted(CORRECTED)]
    gathered = engine.gathered(pbx_dsn, SIP_DOMAIN, ["accounts"])
    stored = {a["number"]: a for a in gathered["state"]["accounts"]}
    assert {n: (stored[n]["owner"], stored[n]["security_model"], gathered["account_status"][n]["last_status"])
            for n in CORRECTED} == {n: (a["owner"], "end-to-site", "installation_sms_sent")
                                    for n, a in zip(CORRECTED, accounts)}
    again = run_switchboard(["plan", "--detailed-exitcode"], env=env)
    assert again.returncode == 0, again.stdout + again.stderr
