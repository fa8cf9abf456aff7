# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 9, batch creation (seed 003, SPEC §5): `switchboard import-csv` run for real. Every row is checked
against the whole declared state; a bad file writes nothing and names every bad row by line and column; a
good one becomes ONE new state file that plan and apply then take (with the wizard's installation SMS)."""

from __future__ import annotations

import dataclasses
import json
import os
import re

import pytest
import yaml

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import declared, engine
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState
from support.cli import completed as run_switchboard

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


def test_the_seeds_rows_as_plain_accounts_import_and_plan_once_their_passwords_are_given(tmp_path, state_dir, sqlite_dsn):
    path = csv_file(tmp_path, SEED_ROWS)
    done = import_csv(state_dir, path, "--activation", "plain")
    assert done.returncode == 0, done.stderr
    written = imported_file(state_dir)
    assert done.stdout.splitlines() == [
        "added 4 accounts to group sales (profile default, plain activation): wrote %s" % written,
        "next: review and commit it, then `switchboard plan`"]
    assert done.stderr.splitlines() == [
        "note: plain accounts need a password, and an import never invents one: before plan and apply, add each "
        "number with its password to the vault-encrypted secrets file (`ansible-vault edit FILE`, one "
        "\"NUMBER: PASSWORD\" line per account, e.g. \"+391234567890: ...\"); until then the plan refuses to create them"]
    seed_numbers = ["+391234567890", "+3932456753", "+39432242342", "+394325346546"]
    options = engine.Options(str(state_dir), sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"),
                             check_mode=True)
    with pytest.raises(InvalidState) as no_passwords:
        engine.run(options)
    assert [str(p) for p in no_passwords.value.problems] == [
        "%s: accounts[%d].password: a plain account needs a password when it is created (inline !vault, the secrets "
        "file, or plain text) (rule: plain accounts need a password)" % (written.name, index) for index in range(4)]
    passwords = {number: "Batch-password-%d" % index for index, number in enumerate(seed_numbers)}
    planned = engine.run(dataclasses.replace(options, passwords=passwords))
    assert sorted(c for c in planned["changes"] if c.startswith("create accounts/")) == [
        "create accounts/%s" % number for number in sorted(seed_numbers + [MARCO_ROSSI])]
    assert planned["sms"]["would_send"] == ["would send installation SMS to %s" % MARCO_ROSSI]  # none for plain
    assert "Batch-password" not in done.stdout + done.stderr + written.read_text()


# -- every kind of bad row, by line and column ------------------------------------------------------------

def test_every_bad_row_is_reported_with_its_line_and_column_and_nothing_is_written(tmp_path, state_dir):
    path = csv_file(tmp_path, HEADER + "\n".join([
        "Marco Rossi,%s,,end-to-site,already declared in the state" % MARCO_ROSSI,  # 2
        ",+393471111111,,SDES,no name",  # 3
        "Anna Verdi,,anna@example.com,zrtp,no number",  # 4
        "Bruno Neri,+39 347 222 2222,bruno@,end-to-site,spaces and a broken email",  # 5
        "Carla Blu,+393473333333,,rot13,an unknown security model",  # 6
        "Dario Gialli,+393473333333,,sdes,the number of line 6 again",  # 7
        "Elena Rosa,+393474444444,,sdes,an unquoted, comma",  # 8
        "Fabio Viola,0347555555,,sdes,no country code",  # 9
        "Gina Grigi,+3934766666,,sdes,\"quoted, with a comma: fine, but no phone has this number\"",  # 10
        "",  # a blank line is skipped
        "Ugo Nero,%s,,sdes,Marco Rossi's secondary number" % GIULIA_SECONDARY,  # 12
        "Vera Bianca,+393475555555,vera@example,sdes,%s" % ("x" * 256),  # 13
        "Zeno Verde,+393476666666,zeno@example.com,ZRTP,\"a fine row: ZRTP in capitals is zrtp\"",  # 14
    ]) + "\n")
    done = import_csv(state_dir, path)
    refused(done, path, [
        "line 2: gsmNumber: '+393470000001' is declared twice (first at org.yml: accounts[0]) (rule: accounts are unique)",
        "line 3: fullName: is empty (rule: fullName is required)",
        "line 4: gsmNumber: is empty (rule: gsmNumber is required)",
        "line 5: gsmNumber: '+39 347 222 2222' does not match: A phone number as a quoted string: E.164 (+391234567890) "
        "or a short internal number (111). (rule: schema: pattern)",
        "line 5: email: 'bruno@' is not an email address (rule: an email address is name@domain)",
        "line 6: securityModel: 'rot13' is not one of: sdes, zrtp, end-to-site (rule: schema: enum)",
        "line 7: gsmNumber: '+393473333333' is declared twice (first at line 6) (rule: accounts are unique)",
        "line 8: has 6 values, the header names 5 columns (a value with a comma must be in double quotes) "
        "(rule: a row has one value per header column)",
        "line 9: gsmNumber: '0347555555' is not an E.164 mobile number (rule: wizard activation needs E.164)",
        "line 10: gsmNumber: '+3934766666' is in no allocated range of its country's numbering plan: an activation SMS "
        "cannot reach it (rule: wizard activation needs a mobile number)",
        "line 12: gsmNumber: '+393470000002' is already the secondary number of +393470000001 (org.yml: accounts[0]) "
        "(rule: a number belongs to at most one account)",
        "line 13: email: 'vera@example' is not an email address (rule: an email address is name@domain)",
        "line 13: description: 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…' (256 characters) is longer than 255 "
        "characters (rule: schema: maxLength)",
    ])
    assert listing(state_dir) == ["org.yml"]


def test_group_and_profile_problems_are_said_once_naming_the_option(tmp_path, state_dir):
    path = csv_file(tmp_path, SEED_CORRECTED)
    done = run_switchboard(["--state-dir", state_dir, "import-csv", path, "--group", "support", "--profile", "nope"])
    refused(done, path, [
        "--group: group 'support' is not declared (rule: a group must exist before accounts in it)",
        "--profile: provisioning profile 'nope' is not declared (rule: references must exist)"])
    done = run_switchboard(["--state-dir", state_dir, "import-csv", path, "--group", "sales", "--profile", "bare"])
    refused(done, path, [
        "--profile: provisioning profile 'bare' has no base_url: the SMS links start with it (rule: wizard activation "
        "needs a provisioning profile with base_url)"])
    assert listing(state_dir) == ["org.yml"]


@pytest.mark.parametrize("content, lines", [
    (b"fullName;gsmNumber;email;securityModel;description\nMario Colombo;+394325346546;;SDES;x\n",
     ["line 1: the columns are separated by ';' (as Excel writes CSV in some languages): save the file as CSV with "
      "',' separators (rule: CSV columns are separated by commas)"]),
    (b"fullname,gsmNumber,phone,securityModel,description,description\nMario,+394325346546,,sdes,x,y\n",
     ["line 1: column 'description' appears more than once (rule: the first line is the header %s)" % HEADER.strip(),
      "line 1: unknown column 'fullname' (did you mean 'fullName'? names are case-sensitive) (rule: the first line is "
      "the header %s)" % HEADER.strip(),
      "line 1: unknown column 'phone' (rule: the first line is the header %s)" % HEADER.strip(),
      "line 1: column 'fullName' is missing (rule: the first line is the header %s)" % HEADER.strip(),
      "line 1: column 'email' is missing (rule: the first line is the header %s)" % HEADER.strip()]),
    (HEADER.encode() + "Mario Colòmbo,+394325346546,,sdes,x\n".encode("cp1252"),
     ["line 2: is not UTF-8 text (byte 0xf2 at offset 60): save the file as \"CSV UTF-8\" (rule: CSV files are UTF-8)"]),
    (b"", ["line 1: is empty: the first line must be the header (rule: the first line is the header %s)"
           % HEADER.strip()]),
    (HEADER.encode(), ["has a header and no rows: nothing to import (rule: a batch has at least one row)"]),
    (HEADER.strip().encode() + b",password\nMario,+394325346546,,sdes,x,Secret-password-1\n",
     ["line 1: unknown column 'password' (passwords never travel in a CSV: plain accounts take theirs from the "
      "vault-encrypted secrets file) (rule: the first line is the header %s)" % HEADER.strip()]),
], ids=["semicolons", "columns", "not_utf8", "empty", "no_rows", "password"])
def test_a_wrong_header_or_encoding_is_named_and_nothing_is_written(tmp_path, state_dir, content, lines):
    path = csv_file(tmp_path, content)
    done = import_csv(state_dir, path)
    refused(done, path, lines)
    assert "Secret-password" not in done.stdout + done.stderr
    assert listing(state_dir) == ["org.yml"]


def test_a_byte_order_mark_from_excel_is_ignored_with_a_note(tmp_path, state_dir):
    path = csv_file(tmp_path, b"\xef\xbb\xbf" + SEED_CORRECTED.encode())
    done = import_csv(state_dir, path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "note: %s: line 1: starts with a UTF-8 byte-order mark (Excel's \"CSV UTF-8\"): ignored" % path]
    assert [a["owner"] for a in yaml.safe_load(imported_file(state_dir).read_text())["accounts"]][0] == \
        "Alessandro Bergamaschi"


# -- dry run, the written file, never over another ---------------------------------------------------------

def test_a_dry_run_lists_what_it_would_add_and_writes_nothing(tmp_path, state_dir):
    path = csv_file(tmp_path, SEED_CORRECTED)
    done = import_csv(state_dir, path, "--dry-run")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(r"would add 4 accounts to group sales \(profile default, wizard activation\) as %s/import-"
                        r"\d{8}T\d{6}Z-sales\.yml \(dry run: nothing written\):" % re.escape(str(state_dir)), lines[0])
    assert lines[1:] == ["  + +393471234501  Alessandro Bergamaschi", "  + +393471234502  Luigi Rossi",
                         "  + +393471234503  Marco Bianchi", "  + +394325346546  Mario Colombo",
                         "the apply will queue 4 installation SMS, one per account"]
    assert listing(state_dir) == ["org.yml"]


AWKWARD = ["Niccolò D'Àngelo", "yes", "null", "a: b # not a comment", "- a list?", "  spaced  ", "\"quoted\"",
           "tab\there", "multi\nline", "back\\slash", "{braces}", "&anchor *alias !tag %percent @at `tick`",
           "line\u2028separator", "bell\x07"]


def test_the_written_file_reads_back_exactly_what_the_csv_says(tmp_path, state_dir):
    rows = [[name, "+39347123%04d" % index, "user%d@example.com" % index, "sdes", text]
            for index, (name, text) in enumerate(zip(["Person %d" % i for i in range(len(AWKWARD))], AWKWARD))]
    import csv as csv_module
    import io
    buffer = io.StringIO()
    writer = csv_module.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER.strip().split(","))
    writer.writerows(rows)
    path = csv_file(tmp_path, buffer.getvalue())
    out = tmp_path / "review" / "batch.yaml"
    out.parent.mkdir()
    done = import_csv(state_dir, path, "--out", out)
    assert done.returncode == 0, done.stderr
    assert listing(state_dir) == ["org.yml"] and listing(out.parent) == ["batch.yaml"]
    write_state(tmp_path / "together", {"org.yml": STATE, "batch.yaml": out.read_text()})
    loaded, _warnings = declared.load(str(tmp_path / "together"))
    accounts = loaded.objects("accounts")
    # Values are stripped of surrounding white space (spreadsheets pad them); everything else is kept as written.
    assert [accounts[row[1]]["description"] for row in rows] == [text.strip() for text in AWKWARD]
    assert accounts["+393471230000"]["owner"] == "Person 0"


def test_an_import_never_writes_over_a_file(tmp_path, state_dir):
    path = csv_file(tmp_path, SEED_CORRECTED)
    taken = state_dir / "taken.yml"
    taken.write_text("# someone's work\n")
    done = import_csv(state_dir, path, "--out", taken)
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "%s: already exists (rule: an import writes a new file, never over another)" % taken,
        "1 problem in %s: nothing was written" % path]
    assert taken.read_text() == "# someone's work\n"
    dry = import_csv(state_dir, path, "--out", taken, "--dry-run")
    assert dry.returncode == 1 and dry.stderr.splitlines()[0] == done.stderr.splitlines()[0]
    done = import_csv(state_dir, path, "--out", state_dir / "batch.csv")
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == "%s: is not a state file name (rule: state files end in .yml or .yaml)" % (
        state_dir / "batch.csv")
    assert listing(state_dir) == ["org.yml", "taken.yml"]  # no temporary file left behind either


# -- what the rows are checked against ------------------------------------------------------------------

def test_a_state_that_does_not_load_is_reported_as_such_and_nothing_is_written(tmp_path, state_dir):
    (state_dir / "broken.yml").write_text("groups:\n  - name: sales\n")
    done = import_csv(state_dir, csv_file(tmp_path, SEED_CORRECTED))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "1 problem in the declared state, nothing was written:",
        "org.yml: groups[0]: 'sales' is declared twice (first at broken.yml: groups[0]) (rule: groups are unique)"]
    assert listing(state_dir) == ["broken.yml", "org.yml"]


def test_in_merged_mode_the_platforms_groups_and_profiles_count_as_the_plan_counts_them(tmp_path, state_dir,
                                                                                        sqlite_dsn):
    engine.run(engine.Options(str(state_dir), sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))
    partial = write_state(tmp_path / "partial", {"team.yml": {"accounts": []}})  # the group lives on the platform
    path = csv_file(tmp_path, SEED_CORRECTED)
    refused(import_csv(partial, path), path, [
        "--group: group 'sales' is not declared (rule: a group must exist before accounts in it)",
        "--profile: provisioning profile 'default' is not declared (rule: references must exist)"])
    done = run_switchboard(["--state-dir", partial, "--dsn", sqlite_dsn, "import-csv", path, "--group", "sales",
                            "--profile", "default"])
    assert done.returncode == 0, done.stderr
    planned = engine.run(engine.Options(str(partial), sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"),
                                        check_mode=True))
    assert planned["changes"] == ["create accounts/%s" % number for number in CORRECTED]
    overridden = run_switchboard(["--state-dir", partial, "--dsn", sqlite_dsn, "--mode", "overridden", "import-csv",
                                  path, "--group", "sales", "--profile", "default", "--dry-run"])
    assert overridden.returncode == 1  # overridden mode needs every reference declared, as its plan does


def test_line_numbers_count_windows_line_ends_and_values_that_span_lines(tmp_path, state_dir):
    path = csv_file(tmp_path, HEADER.replace("\n", "\r\n") + (
        "Mario Colombo,+394325346546,,sdes,\"two\r\nlines\"\r\n"  # lines 2-3
        "Luigi Rossi,+3932456753,,sdes,x\r\n"))  # line 4
    refused(import_csv(state_dir, path), path, [
        "line 4: gsmNumber: '+3932456753' is in no allocated range of its country's numbering plan: an activation SMS "
        "cannot reach it (rule: wizard activation needs a mobile number)"])
