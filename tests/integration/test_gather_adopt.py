"""switchboard gather DIR: an existing platform adopted into git, through the real command, planning to zero
changes in merged and overridden mode, never writing a password or an HA1."""

import errno
import pathlib
import shutil
import subprocess
from urllib.parse import urlparse

import pytest
import yaml

from conftest import DEMO_STATE, SIP_DOMAIN, Playbook, db_rows, write_state
from support.cli import run_switchboard
from ansible_collections.switchboard.pbx.plugins.module_utils import adopt, engine
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import SwitchboardError

DEMO_PASSWORDS = ("Giulio-Marconi-2026", "Reception-Desk-2026", "Accounts-Desk-2026")
NO_CHANGE = "no change planned: the platform matches the declared state"


def switchboard(dsn, *args):
    return run_switchboard(args, env={"SWITCHBOARD_PBX_DSN": dsn, "SWITCHBOARD_SIP_DOMAIN": SIP_DOMAIN})


def gather(dsn, directory):
    code, out, err = switchboard(dsn, "gather", directory)
    assert (code, err) == (0, ""), out + err
    return out.splitlines()


def assert_plans_no_change(dsn, state_dir, tmp_path):
    for mode in ("merged", "overridden"):
        code, out, err = switchboard(dsn, "--state-dir", state_dir, "--mode", mode,
                                     "--report-dir", tmp_path / "reports", "plan", "--detailed-exitcode")
        assert code == 0, out + err
        assert out.splitlines()[0] == NO_CHANGE


def files_of(directory):
    return {str(path.relative_to(directory)): path.read_bytes() for path in sorted(pathlib.Path(directory).rglob("*"))
            if path.is_file()}


def assert_no_secret(dsn, directory, passwords, output=()):
    """grep finds no password, HA1 or database password in the files or the command's output."""
    ha1s = [value for row in db_rows(dsn, "SELECT ha1, ha1b FROM subscriber") for value in row]
    database_password = urlparse(dsn).password  # PostgreSQL's: the SQLite DSN has none
    secrets = ha1s + list(passwords) + ([database_password] if database_password else [])
    assert ha1s and passwords
    patterns = pathlib.Path(directory).parent / "secrets.patterns"
    patterns.write_text("\n".join(secrets + ["password:", "ha1"]) + "\n")
    (pathlib.Path(directory).parent / "gather.out").write_text("\n".join(output))
    found = subprocess.run(["grep", "-rF", "-f", str(patterns), str(directory), str(patterns.parent / "gather.out")],
                           capture_output=True, text=True, check=False)
    assert (found.returncode, found.stdout) == (1, "")


def test_demo_platform_gathers_to_zero_changes(tmp_path, pbx_dsn):
    playbook = Playbook(tmp_path, pbx_dsn)
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    playbook.run()  # the platform door applies the demo company

    gathered = tmp_path / "gathered"
    lines = gather(pbx_dsn, gathered)
    assert lines == [
        "gathered 5 accounts, 2 groups, 7 numbers, 2 devices, 1 network list and 1 provisioning profile "
        "from SIP domain %s into %s" % (SIP_DOMAIN, gathered),
        "  accounts/field-sales.yml: 3 accounts",
        "  accounts/milano-office.yml: 2 accounts",
        "  devices.yml: 2 devices",
        "  groups.yml: 2 groups",
        "  networks.yml: 1 network list",
        "  numbers.yml: 7 numbers",
        "  provisioning_profiles.yml: 1 provisioning profile",
        "passwords are not written: the accounts keep their credentials on the platform",
    ]
    assert_plans_no_change(pbx_dsn, gathered, tmp_path)
    assert_no_secret(pbx_dsn, gathered, DEMO_PASSWORDS, lines)

    # What a reviewer reads: the header, then the objects, key first, defaults left out.
    text = (gathered / "accounts" / "milano-office.yml").read_text()
    assert text.splitlines()[0].startswith("# Gathered by `switchboard gather` from the PBX database ")
    assert text.split("accounts:\n")[1].startswith(
        '  - number: "+390212345601"\n'
        '    acl:\n'
        '      - {deny: 0.0.0.0/0}\n'
        '      - {permit: 216.27.242.66/32}\n'
        '    additional_numbers: ["101"]\n'
        '    callerid: Rossi Logistica\n')
    assert "keepalive" not in text and "tariff: usage" not in text

    # An unchanged platform gathers byte-identical files.
    again = tmp_path / "again"
    gather(pbx_dsn, again)
    assert files_of(again) == files_of(gathered)


EVERY_FIELD = {
    "provisioning_profiles": [
        {"name": "mobile", "base_url": "http://127.0.0.1:5080/", "token_lifetime_days": 3,
         "download_urls": {"ios": "https://apps.example/ios", "android": "https://apps.example/android"},
         "templates": {"installation": "Hello {{ owner }}: install from {{ link }}", "activation": "Open {{ link }}"}},
        {"name": "spare", "description": "kept for later", "base_url": "https://prov.example"}],
    "networks": [{"name": "offices", "description": "all: offices, VPN", "networks": ["10.0.0.0/8", "192.0.2.7"]}],
    "groups": [{"name": "mobile", "provisioning_profile": "mobile"},
               {"name": "desks", "description": "yes", "ip_listing": {"enabled": False, "allow": ["10.1.0.0/255.255.0.0"]}}],
    "numbers": [{"number": "+390212345699", "state": "inactive"},
                {"number": "111", "group": "desks", "description": "Hall: ground floor"}],
    "accounts": [
        {"number": "+393471234567", "group": "mobile", "type": "pgsm", "activation": "wizard",
         "provisioning_profile": "spare", "obfuscation": {"enabled": False, "key": 7}, "security_model": "end-to-site",
         "owner": "Zoë Ünal", "keepalive": True},
        {"number": "+393489876543", "group": "mobile", "type": "pgsm", "activation": "wizard", "enabled": False},
        {"number": "+390212345601", "group": "desks", "type": "sip", "username": "on", "password": "Sip-Desk-2026",
         "enabled": False, "voice_channels": 3, "multi_login": True, "tariff": "flat", "callerid": "No",
         "restricted_networks": "offices", "additional_numbers": ["111"], "acl": [{"permit": "10.1.2.0/24"}],
         "description": "line\nbreak # not a comment"}],
    "devices": [{"name": "hall", "group": "desks", "ip": "10.1.2.3", "port": 2222, "platform": "linux_baresip",
                 "description": "Hall phone", "channels": [{"index": 2, "extension": "+390212345601"}, {"index": 1}]}],
    "trusted_peers": [{"name": "carrier", "address": "203.0.113.0/24", "description": "SIP trunk"},
                      {"name": "gateway", "address": "198.51.100.7"}],
}


def test_every_kind_and_field_gathers_to_zero_changes(tmp_path, pbx_dsn):
    state = write_state(tmp_path / "state", {"all.yml": EVERY_FIELD})
    engine.run(engine.Options(str(state), pbx_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))
    gathered = tmp_path / "gathered"
    lines = gather(pbx_dsn, gathered)
    assert sorted(files_of(gathered)) == ["accounts/desks.yml", "accounts/mobile.yml", "devices.yml", "groups.yml",
                                          "networks.yml", "numbers.yml", "provisioning_profiles.yml", "trusted_peers.yml"]
    assert_plans_no_change(pbx_dsn, gathered, tmp_path)
    assert_no_secret(pbx_dsn, gathered, ["Sip-Desk-2026"], lines)


def test_a_change_on_the_platform_is_a_small_diff(tmp_path, sqlite_dsn):
    state = tmp_path / "state"
    shutil.copytree(DEMO_STATE, state)
    options = engine.Options(str(state), sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"))
    engine.run(options)
    gather(sqlite_dsn, tmp_path / "before")
    path = state / "milano-office.yml"
    path.write_text(path.read_text().replace("owner: Paolo Neri", "owner: Paolo Neri-Bassi"))
    engine.run(options)
    gather(sqlite_dsn, tmp_path / "after")

    before, after = files_of(tmp_path / "before"), files_of(tmp_path / "after")
    assert set(before) == set(after)

    def changed(name):  # the header's time of the last apply aside (two applies may fall in one second)
        lines = [(b, a) for b, a in zip(before[name].decode().splitlines(), after[name].decode().splitlines()) if b != a]
        return [pair for pair in lines if not pair[0].startswith("# The platform's last apply: ")]
    assert {name: changed(name) for name in before if changed(name)} == {
        "accounts/milano-office.yml": [("    owner: Paolo Neri", "    owner: Paolo Neri-Bassi")]}
    [(last_apply,)] = db_rows(sqlite_dsn, "SELECT max(at) FROM sb_journal")
    assert after["groups.yml"].decode().splitlines()[1].startswith("# The platform's last apply: %s UTC. " % last_apply)


def test_ten_thousand_accounts_gather_to_zero_changes(tmp_path, sqlite_dsn):
    import sys

    sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "bench"))
    from generate import generate

    passwords = generate(str(tmp_path / "state"), 10000)
    engine.run(engine.Options(str(tmp_path / "state"), sqlite_dsn, SIP_DOMAIN, passwords=passwords,
                              report_dir=str(tmp_path / "reports")))
    gathered = tmp_path / "gathered"
    lines = gather(sqlite_dsn, gathered)
    assert lines[:3] == [
        "gathered 10000 accounts, 2 groups, 1 network list and 1 provisioning profile from SIP domain %s into %s"
        % (SIP_DOMAIN, gathered),
        "  accounts/desks.yml: 5000 accounts",
        "  accounts/mobile.yml: 5000 accounts",
    ]
    assert_plans_no_change(sqlite_dsn, gathered, tmp_path)
    assert_no_secret(sqlite_dsn, gathered, passwords.values(), lines)


def test_unmanaged_kamailio_rows_are_not_adopted(tmp_path, sqlite_dsn):
    state = write_state(tmp_path / "state", {"s.yml": {"groups": [{"name": "office"}], "accounts": [
        {"number": "+390212345601", "group": "office", "type": "snom", "username": "7001", "password": "Desk-7001-pw"}]}})
    engine.run(engine.Options(str(state), sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))
    db_rows(sqlite_dsn, "INSERT INTO subscriber (username, domain, ha1, ha1b) VALUES ('9999', ?, 'x', 'y')", (SIP_DOMAIN,))

    gathered = tmp_path / "gathered"
    lines = gather(sqlite_dsn, gathered)
    assert lines[-2] == ("not adopted: 1 Kamailio row no account owns (switchboard.pbx.platform_info lists them under "
                         "unmanaged); a plan in overridden mode deletes them")
    assert "9999" not in b"".join(files_of(gathered).values()).decode()
    code, out, err = switchboard(sqlite_dsn, "--state-dir", gathered, "--mode", "overridden",
                                 "--report-dir", tmp_path / "reports", "plan", "--detailed-exitcode")
    assert code == 2 and out.splitlines()[0] == "would delete 1 stray Kamailio row (check mode: nothing was written)", out + err


def test_a_directory_that_is_not_empty_is_refused(tmp_path, sqlite_dsn):
    engine.run(engine.Options(str(DEMO_STATE), sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))
    target = write_state(tmp_path / "repo" / "state", {"site.yml": "groups: []\n", "notes/README.md": "mine\n"})
    code, out, err = switchboard(sqlite_dsn, "gather", target)
    assert (code, out) == (1, "")
    assert err == ("switchboard: error: %s is not empty (notes, site.yml): gather writes into a new or empty "
                   "directory, so that no state file is mixed with or overwritten by the gathered ones\n" % target)
    assert files_of(target) == {"notes/README.md": b"mine\n", "site.yml": b"groups: []\n"}
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == ["state"]  # no staging directory left

    target.joinpath("notes", "README.md").unlink()
    shutil.rmtree(target)
    target.mkdir()  # an empty directory is taken
    gather(sqlite_dsn, target)
    assert (target / "groups.yml").exists()


def test_a_failed_gather_leaves_nothing(tmp_path, sqlite_dsn, monkeypatch):
    engine.run(engine.Options(str(DEMO_STATE), sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))
    staged = []

    def failing_rename(source, _target):  # every file is written by then: the last step fails
        staged.extend(sorted(str(p.relative_to(source)) for p in pathlib.Path(source).rglob("*.yml")))
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(adopt.os, "rename", failing_rename)
    with pytest.raises(SwitchboardError) as failure:
        adopt.gather_into(str(tmp_path / "out" / "state"), sqlite_dsn, SIP_DOMAIN)
    assert str(failure.value) == ("cannot write the gathered state into %s (No space left on device): nothing was "
                                  "written" % (tmp_path / "out" / "state"))
    assert len(staged) == 7 and list((tmp_path / "out").iterdir()) == []


def test_a_database_that_does_not_exist_is_not_adopted_as_empty(tmp_path):
    missing = "sqlite:///%s" % (tmp_path / "nowhere.sqlite")
    code, out, err = switchboard(missing, "gather", tmp_path / "state")
    assert code == 1 and err == ("switchboard: error: the PBX database file %s does not exist: there is nothing to "
                                 "read (check the DSN)\n" % (tmp_path / "nowhere.sqlite"))
    assert not (tmp_path / "state").exists()


def test_state_files_read_back_what_was_written():
    """Strings YAML would read as something else are quoted; everything reads back as written."""
    tricky = ["yes", "No", "on", "null", "~", "1e3", "12:30", "0x1F", "101", "+391234567890", "a: b", "#x", "x #y",
              "- a", "[a]", "{a}", "a, b", "O'Brien", 'say "hi"', "trailing ", " leading", "", "Zoë Ünal", "tab\there",
              "line\nbreak", "\u2028sep", "\ufeffbom", "emoji \U0001F600", "back\\slash", "@home", "`tick`", "%x", "!tag",
              "&anchor", "*alias", "|", ">", "?", "=", "10.0.0.0/8", "http://x.example/a?b=c#d"]
    objects = [{"name": "n%d" % i, "description": text, "list": [text, 1, True, None], "nested": {"k": text}}
               for i, text in enumerate(tricky)]
    objects.append({"name": "long", "numbers": ["+3902123456%02d" % i for i in range(12)],
                    "templates": {"activation": "Open %s" % ("x" * 90), "installation": "a: b"}})
    text = adopt.render("groups", objects)
    assert yaml.safe_load(text) == {"groups": objects}
    assert yaml.load(text, Loader=yaml.CSafeLoader) == {"groups": objects}
    assert "description: Zoë Ünal" in text and "description: 10.0.0.0/8" in text
    assert text.endswith('      - "+390212345611"\n    templates:\n      activation: Open %s\n'
                         '      installation: "a: b"\n' % ("x" * 90))


def test_a_platform_with_unreadable_rows_is_not_adopted(tmp_path, sqlite_dsn):
    """A state without the damaged account would delete it in overridden mode: nothing is written."""
    engine.run(engine.Options(str(DEMO_STATE), sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))
    db_rows(sqlite_dsn, "UPDATE sb_accounts SET data = '{\"owner\": ' WHERE number = '+390212345602'")
    code, out, err = switchboard(sqlite_dsn, "gather", tmp_path / "state")
    assert (code, out) == (1, "")
    assert err == ("switchboard: error: 1 project row cannot be read, and state files without it would delete it in overridden "
                   "mode: "
                   "table sb_accounts, row number = '+390212345602' (account +390212345602): the data column is not "
                   "valid JSON (Expecting value: line 1 column 11 (char 10)): repair or delete the row, then run "
                   "again\n")
    assert not (tmp_path / "state").exists()


def test_an_account_without_its_credential_is_named(tmp_path, sqlite_dsn):
    """Its gathered file has no password, so the plan asks for one (never invented): gather says so first."""
    engine.run(engine.Options(str(DEMO_STATE), sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))
    db_rows(sqlite_dsn, "DELETE FROM subscriber WHERE username = '4101'")
    code, out, err = switchboard(sqlite_dsn, "gather", tmp_path / "state")
    assert code == 0 and out.splitlines()[-1] == "passwords are not written: the accounts keep their credentials on the platform"
    assert err == ("warning: 1 account(s) have no subscriber row in domain %s and cannot register: +390212345601\n"
                   % SIP_DOMAIN)


def test_an_object_the_defaults_would_change_is_written_whole():
    """Left out only when the loader reads the leaner object back the same; otherwise the whole declared form."""
    number = {"number": "111", "state": "active", "group": "desks", "description": None}
    assert adopt.lean("numbers", number, adopt.model.normalize_number, {}) == {"number": "111", "group": "desks"}

    def grouped_inactive(raw):  # a loader whose default state depends on the group: dropping state would change it
        return dict(adopt.model.normalize_number(raw), state=raw.get("state", "inactive" if raw.get("group") else "active"))
    assert adopt.lean("numbers", number, grouped_inactive, {}) == {"number": "111", "state": "active", "group": "desks"}
