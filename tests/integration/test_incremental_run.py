"""The incremental run (incremental_run.py) is a complete run's equal: for many random edits of the state files, the
run that reads and plans only what changed reports the same changes (or the same problems) as a complete run
against a twin database, and leaves the same rows. Real SQLite and PostgreSQL; writes behind the tool's back by hand."""

import copy
import dataclasses
import itertools
import os
import random
import subprocess
import sys

import pytest
import yaml

from bench.generate import generate
from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import declared as declared_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine, incremental_run
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.change_counter import TRACKED_TABLES
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.database import transaction

DESKS = ["+3902123456%02d" % i for i in range(10)]
PASSWORDS = {number: "Desk-pw-%s" % number[-4:] for number in DESKS}
_databases = itertools.count(1)


def desk(i):
    return {"number": DESKS[i], "group": "desks", "type": "snom", "username": "d%02d" % i, "owner": "Desk %d" % i}


def mobile(i):
    return {"number": "+39347123%04d" % i, "group": "mobile", "type": "pgsm", "activation": "wizard",
            "username": "m%04d" % i, "owner": "Mobile %d" % i}


def base_state():
    return {
        "org.yml": {"provisioning_profiles": [{"name": "mobile-enterprise", "base_url": "http://127.0.0.1:5080"}],
                    "networks": [{"name": "offices", "networks": ["10.0.0.0/8"]}],
                    "groups": [{"name": "mobile", "provisioning_profile": "mobile-enterprise"},
                               {"name": "desks", "ip_listing": {"enabled": True, "allow": ["10.0.0.0/8"]}}]},
        "a.yml": {"accounts": [desk(i) for i in range(0, 10, 2)] + [mobile(i) for i in range(0, 6)]},
        "b.yml": {"accounts": [desk(i) for i in range(1, 10, 2)] + [mobile(i) for i in range(6, 10)]},
        "numbers.yml": {"numbers": [{"number": DESKS[i], "group": "desks"} for i in range(10)]
                        + [{"number": "+39029900%04d" % i, "group": "desks", "description": "spare"} for i in range(6)]},
        "devices.yml": {"devices": [{"name": "desk-%d" % d, "group": "desks", "platform": "snom", "ip": "10.0.0.%d" % (d + 10),
                                     "channels": [{"index": 1, "extension": DESKS[2 * d]}, {"index": 2}]}
                                    for d in range(3)]},
        "peers.yml": {"trusted_peers": [{"name": "carrier", "address": "192.0.2.1"}]},
    }


def options(tmp_path, dsn, cache, **changes):
    return dataclasses.replace(engine.Options(str(tmp_path / "state"), dsn, SIP_DOMAIN, passwords=dict(PASSWORDS),
                                              report_dir=str(tmp_path / "reports"), cache_dir=str(cache)), **changes)


@pytest.fixture(params=["sqlite", "postgres"])
def twins(request, tmp_path):
    """Two new, empty PBX databases on the same engine: one for the incremental runs, one for complete runs."""
    if request.param == "sqlite":
        return ["sqlite:///%s" % (tmp_path / ("db-%s" % side) / "pbx.sqlite") for side in ("incremental", "complete")]
    cluster = request.getfixturevalue("pg_cluster")
    number = next(_databases)
    return [cluster.new_database("pbx_%s_%d" % (side, number)) for side in ("incremental", "complete")]


def platform_rows(dsn):
    """Every row a plan reads, but the lifecycle dates and the HA1 of wizard accounts (random until activated)."""
    wizards = {username for username, data in db_rows(dsn, "SELECT username, data FROM sb_accounts")
               if '"activation":"wizard"' in data}
    rows = {}
    for table in TRACKED_TABLES:
        found = db_rows(dsn, "SELECT * FROM %s" % table)
        if table == "sb_accounts":
            found = [(number, group, username, status, data) for number, group, username, status, _date, data in found]
        if table == "subscriber":
            found = [tuple("wizard" if row[1] in wizards and isinstance(value, str) and len(value) == 32 else value
                           for value in row) for row in found]
        rows[table] = sorted(found, key=repr)
    return rows


def outcome(run):
    """What a run tells (its changes, counts, warnings, diffs), or the problems it refused the state with."""
    try:
        result = run()
    except InvalidState as exc:
        return {"problems": [str(p) for p in exc.problems]}, None
    told = {key: result[key] for key in ("changes", "summary", "message", "warnings", "diff", "change_count")}
    return told, result["run"]


class Editor:
    """Random edits of a valid state, each of one kind the brief names; some make it invalid on purpose."""

    def __init__(self, seed):
        self.random = random.Random(seed)
        self.next_mobile = 100
        self.deleted = []  # accounts and devices taken out of the state: merged mode leaves them on the platform

    def accounts(self, files):
        return [(name, account) for name in ("a.yml", "b.yml") for account in files[name]["accounts"]]

    def edit(self, files, passwords):
        """One edit of ``files`` (a state directory's documents) or ``passwords`` (the secrets file), in place."""
        if self.random.random() < 0.25:
            return self.random.choice([self.add_desk, self.delete_desk, self.rotate])(files, passwords)
        return self.random.choice([self.field, self.field, self.add, self.delete, self.delete, self.move,
                                   self.number_group, self.bind, self.unbind, self.peer, self.spare, self.take_number,
                                   self.device, self.take_username, self.take_username])(files)

    def take_username(self, files):
        """A new account with the username of one that left: a replace where allowed, else refused, both ways."""
        gone = [a for a in self.deleted if "number" in a]
        if not gone:
            return self.add(files)
        self.next_mobile += 1
        account = dict(mobile(self.next_mobile), username=self.random.choice(gone)["username"])
        if self.random.random() < 0.5:
            account["allow_replace"] = True
        files[self.random.choice(["a.yml", "b.yml"])]["accounts"].append(account)
        return "add %s as %s" % (account["number"], account["username"])

    def add_desk(self, files, passwords):
        """A plain account and its password (sometimes forgotten: refused, both ways)."""
        account = dict(desk(0), number="+3902123457%02d" % self.random.randrange(100), username=None)
        account["username"] = "e" + account["number"][-2:]
        if any(a["number"] == account["number"] for _n, a in self.accounts(files)):
            return "no desk added"
        files[self.random.choice(["a.yml", "b.yml"])]["accounts"].append(account)
        if self.random.random() < 0.9:
            passwords[account["number"]] = "New-desk-pw-%d" % self.random.randrange(1000)
        return "add desk %s" % account["number"]

    def delete_desk(self, files, passwords):
        """A plain account leaves, with its password (sometimes kept: refused, both ways) and its channels."""
        name, account = self.random.choice([(n, a) for n, a in self.accounts(files) if a["type"] == "snom"])
        files[name]["accounts"].remove(account)
        for _device, channel in self.channels(files):
            if channel.get("extension") == account["number"]:
                channel.pop("extension")
        if self.random.random() < 0.9:
            passwords.pop(account["number"], None)
        return "delete desk %s" % account["number"]

    def rotate(self, files, passwords):
        number = self.random.choice(sorted(passwords))
        passwords[number] = "Rotated-pw-%d" % self.random.randrange(1000)
        return "new password for %s" % number

    def field(self, files):
        _name, account = self.random.choice(self.accounts(files))
        field, value = self.random.choice([("owner", "Renamed %d" % self.random.randrange(1000)),
                                           ("email", "x%d@example.com" % self.random.randrange(100)),
                                           ("enabled", self.random.choice([True, False])),
                                           ("voice_channels", self.random.randrange(1, 4)),
                                           ("tariff", self.random.choice(["usage", "flat"])),
                                           ("description", None)])
        if account["type"] == "snom" and self.random.random() < 0.4:
            field, value = self.random.choice([("acl", [{"deny": "0.0.0.0/0"}, {"permit": "10.1.%d.0/24" % self.random.randrange(9)}]),
                                               ("restricted_networks", ["offices"]), ("multi_login", True),
                                               ("additional_numbers", ["+493012345%03d" % self.random.randrange(999)])])
        if value is None:
            account.pop(field, None)
        else:
            account[field] = value
        return "field %s of %s" % (field, account["number"])

    def add(self, files):
        accounts = [a for a in self.deleted if "number" in a]
        if accounts and self.random.random() < 0.4:  # back again: updated in merged mode, created in overridden
            account = self.random.choice(accounts)
            self.deleted.remove(account)
        else:
            self.next_mobile += 1
            account = mobile(self.next_mobile)
        files[self.random.choice(["a.yml", "b.yml"])]["accounts"].append(account)
        return "add %s" % account["number"]

    def delete(self, files):
        wizards = [(name, a) for name, a in self.accounts(files) if a["type"] == "pgsm"]
        if not wizards:
            return self.add(files)
        name, account = self.random.choice(wizards)
        files[name]["accounts"].remove(account)
        self.deleted.append(account)
        return "delete %s" % account["number"]

    def take_number(self, files):
        """A desk account takes a number another account had or has (refused unless it left in overridden mode)."""
        _name, account = self.random.choice([(n, a) for n, a in self.accounts(files) if a["type"] == "snom"])
        taken = self.random.choice([a for a in self.deleted if "number" in a] or [mobile(0)])
        account["additional_numbers"] = [taken["number"]]
        return "%s takes %s" % (account["number"], taken["number"])

    def device(self, files):
        """A device leaves the state (merged mode leaves it bound on the platform) or comes back."""
        devices = files["devices.yml"]["devices"]
        gone = [d for d in self.deleted if "channels" in d]
        if gone and self.random.random() < 0.5:
            devices.append(gone[0])
            self.deleted.remove(gone[0])
            return "device %s back" % gone[0]["name"]
        device = self.random.choice(devices)
        devices.remove(device)
        self.deleted.append(device)
        return "device %s out" % device["name"]

    def move(self, files):
        name, account = self.random.choice(self.accounts(files))
        files[name]["accounts"].remove(account)
        files["b.yml" if name == "a.yml" else "a.yml"]["accounts"].insert(0, account)
        return "move %s" % account["number"]

    def number_group(self, files):
        entry = self.random.choice(files["numbers.yml"]["numbers"])  # a desk's own number: refused, both ways
        entry["group"] = "mobile" if entry["group"] == "desks" else "desks"
        return "group of number %s" % entry["number"]

    def channels(self, files):
        return [(device, channel) for device in files["devices.yml"]["devices"] for channel in device["channels"]]

    def bind(self, files):
        device, channel = self.random.choice(self.channels(files))
        channel["extension"] = self.random.choice(DESKS)  # sometimes taken already: refused, both ways
        return "bind %s on %s" % (channel["extension"], device["name"])

    def unbind(self, files):
        device, channel = self.random.choice(self.channels(files))
        channel.pop("extension", None)
        return "unbind channel %d of %s" % (channel["index"], device["name"])

    def peer(self, files):
        peer = files["peers.yml"]["trusted_peers"][0]
        peer["address"] = "192.0.2.%d" % self.random.randrange(1, 9)
        return "peer address"

    def spare(self, files):
        numbers = files["numbers.yml"]["numbers"]
        spares = [n for n in numbers if n.get("description") == "spare"]
        if spares and self.random.random() < 0.5:
            numbers.remove(self.random.choice(spares))
            return "remove a spare number"
        numbers.append({"number": "+39029901%04d" % self.random.randrange(10000), "group": "desks", "description": "spare"})
        return "add a spare number"


class Twins:
    """The same states applied to two databases: incrementally to one, by complete runs to the other. ``cold``: every
    run on the incremental side starts with an empty parse cache, as in a fresh CI container."""

    def __init__(self, tmp_path, dsns, mode, monkeypatch, cold=False):
        self.tmp_path, self.dsns, self.mode, self.monkeypatch = tmp_path, dsns, mode, monkeypatch
        self.cold_caches = itertools.count() if cold else None
        self.files, self.passwords = base_state(), dict(PASSWORDS)
        write_state(tmp_path / "state", self.files)
        told, paths = self._both(self.passwords)
        assert "problems" not in told and paths == ("complete", "complete")

    def _both(self, passwords):
        incremental_dsn, complete_dsn = self.dsns
        cache = self.tmp_path / ("cache" if self.cold_caches is None else "ci-cache-%d" % next(self.cold_caches))
        told, path = outcome(lambda: engine.run(self._options(incremental_dsn, passwords, cache)))
        with self.monkeypatch.context() as patched:  # as if no record vouched for an incremental run
            patched.setattr(incremental_run, "_record", lambda options, inputs: None)
            expected, complete_path = outcome(lambda: engine.run(self._options(complete_dsn, passwords)))
        assert told == expected
        return told, (path, complete_path)

    def _options(self, dsn, passwords, cache=None):
        return options(self.tmp_path, dsn, cache or self.tmp_path / "cache", mode=self.mode, passwords=passwords)

    def step(self, files, passwords=None):
        """Both databases given the edited state: the same report or problems, the same rows. Returns "problems"
        (then the state is back as the platform has it), "unchanged" or "incremental"."""
        passwords = self.passwords if passwords is None else passwords
        write_state(self.tmp_path / "state", files)
        told, paths = self._both(passwords)
        if "problems" in told:  # refused, nothing written
            write_state(self.tmp_path / "state", self.files)
            return "problems"
        if (files, passwords) == (self.files, self.passwords):  # an edit that changed nothing (a channel already free)
            assert paths == ("unchanged", "unchanged")
            return "unchanged"
        assert paths == ("incremental", "complete")
        assert platform_rows(self.dsns[0]) == platform_rows(self.dsns[1])
        self.files, self.passwords = files, passwords
        return "incremental"


@pytest.mark.parametrize("mode", ["merged", "overridden"])
def test_incremental_runs_equal_complete_runs(tmp_path, twins, mode, monkeypatch):
    random_edits(Twins(tmp_path, twins, mode, monkeypatch), Editor(mode))


@pytest.mark.parametrize("twins", ["sqlite"], indirect=True)
@pytest.mark.parametrize("mode", ["merged", "overridden"])
def test_incremental_runs_without_the_parse_cache_equal_complete_runs(tmp_path, twins, mode, monkeypatch):
    """A fresh CI container: no earlier version of a changed file is known, every object it declares is planned."""
    random_edits(Twins(tmp_path, twins, mode, monkeypatch, cold=True), Editor("cold " + mode))


def random_edits(both, editor):
    paths = {"incremental": 0, "problems": 0, "unchanged": 0}
    for step in range(40):
        files, passwords, deleted = copy.deepcopy(both.files), dict(both.passwords), list(editor.deleted)
        what = [editor.edit(files, passwords) for _edit in range(editor.random.randrange(1, 4))]
        try:
            path = both.step(files, passwords)
        except AssertionError as failed:
            raise AssertionError("step %d, %s: %s" % (step, what, failed)) from failed
        if path == "problems":
            editor.deleted = deleted
        paths[path] += 1
    assert paths["incremental"] >= 15 and paths["problems"] >= 1, paths


@pytest.mark.parametrize("mode", ["merged", "overridden"])
def test_a_username_of_an_account_that_left_earlier(tmp_path, twins, mode, monkeypatch):
    """Merged mode keeps the account that left: its username is taken (a replace, where allowed)."""
    both = Twins(tmp_path, twins, mode, monkeypatch)
    files = copy.deepcopy(both.files)
    files["a.yml"]["accounts"].remove(mobile(3))
    assert both.step(files) == "incremental"
    files = copy.deepcopy(both.files)
    files["b.yml"]["accounts"].append(dict(mobile(300), username="m0003"))
    assert both.step(files) == ("problems" if mode == "merged" else "incremental")
    files = copy.deepcopy(both.files)
    files["b.yml"]["accounts"].append(dict(mobile(301), username="m0003", allow_replace=True))
    assert both.step(files) == ("incremental" if mode == "merged" else "problems")  # m0003 is 300's by now


STATE = {"groups": [{"name": "desks"}],
         "accounts": [{"number": DESKS[i], "group": "desks", "type": "snom", "username": "d%02d" % i} for i in range(4)]}


@pytest.fixture
def applied(tmp_path, pbx_dsn):
    write_state(tmp_path / "state", {"org.yml": {"groups": STATE["groups"]}, "a.yml": {"accounts": STATE["accounts"]}})
    assert engine.run(options(tmp_path, pbx_dsn, tmp_path / "cache",
                              passwords={n: PASSWORDS[n] for n in DESKS[:4]}))["run"] == "complete"
    return pbx_dsn


def run(tmp_path, dsn, **changes):
    passwords = {"passwords": {n: PASSWORDS[n] for n in DESKS[:4]}}
    return engine.run(options(tmp_path, dsn, tmp_path / "cache", **dict(passwords, **changes)))


def edit_owner(tmp_path, owner):
    path = tmp_path / "state" / "a.yml"
    document = yaml.safe_load(path.read_text())
    document["accounts"][0]["owner"] = owner
    path.write_text(yaml.safe_dump(document))


def by_hand(dsn, *statements):
    with transaction(dsn) as db:
        for sql in statements:
            db.execute(sql)


def test_the_incremental_run_says_so_and_the_next_run_is_unchanged(tmp_path, applied):
    edit_owner(tmp_path, "Ada")
    planned = run(tmp_path, applied, check_mode=True)  # the CI plan takes the same path and records nothing
    assert planned["run"] == "incremental" and planned["changes"] == ["update accounts/+390212345600 (owner)"]
    assert planned["message"] == "would update 1 account (check mode: nothing was written)"
    assert db_rows(applied, "SELECT count(*) FROM sb_accounts WHERE data LIKE ?", ("%Ada%",)) == [(0,)]
    assert run(tmp_path, applied, check_mode=True)["run"] == "incremental"
    result = run(tmp_path, applied)
    assert result["run"] == "incremental" and result["changes"] == ["update accounts/+390212345600 (owner)"]
    assert result["summary_text"][1].startswith("incremental run: read and planned only what changed in a.yml since "
                                                "the run of ")
    assert result["summary_text"][1].endswith(" UTC (1 object, and what they touch); the rest of the platform is as "
                                              "that run left it")
    assert db_rows(applied, "SELECT data FROM sb_accounts WHERE number = ?", (DESKS[0],))[0][0].count('"owner":"Ada"') == 1
    assert run(tmp_path, applied)["run"] == "unchanged"


@pytest.mark.parametrize("statement, field", [
    ("UPDATE subscriber SET ha1 = 'ffffffffffffffffffffffffffffffff' WHERE username = 'd01'", "password"),
    ("DELETE FROM dbaliases WHERE alias_username = '+390212345602'", "number aliases"),
])
def test_a_write_behind_the_tools_back_forces_the_complete_run_that_repairs_it(tmp_path, applied, statement, field):
    by_hand(applied, statement)
    edit_owner(tmp_path, "Ada")
    result = run(tmp_path, applied)
    assert result["run"] == "complete"
    assert sorted(result["changes"]) == sorted(["update accounts/+390212345600 (owner)",
                                                "update accounts/%s (%s)" % (DESKS[1] if field == "password" else DESKS[2], field)])
    edit_owner(tmp_path, "Grace")
    assert run(tmp_path, applied)["run"] == "incremental"


def test_a_write_between_the_check_and_the_read_forces_the_complete_run(tmp_path, applied, monkeypatch):
    real_load = declared_state.load_checked_meanwhile

    def load_while_someone_writes(*args, **kwargs):  # the record was checked already: the read must see the write
        by_hand(applied, "UPDATE subscriber SET ha1 = 'ffffffffffffffffffffffffffffffff' WHERE username = 'd03'")
        return real_load(*args, **kwargs)
    monkeypatch.setattr(incremental_run.declared_state, "load_checked_meanwhile", load_while_someone_writes)
    edit_owner(tmp_path, "Ada")
    result = run(tmp_path, applied)
    assert result["run"] == "complete"
    assert sorted(result["changes"]) == ["update accounts/+390212345600 (owner)", "update accounts/+390212345603 (password)"]


def test_a_changed_secret_is_planned_for_the_accounts_of_its_bucket(tmp_path, applied):
    edit_owner(tmp_path, "Ada")
    changed = dict(PASSWORDS, **{DESKS[0]: "Another-desk-pw", DESKS[1]: "Another-desk-pw-1"})
    result = run(tmp_path, applied, passwords={n: changed[n] for n in DESKS[:4]})
    assert result["run"] == "incremental" and result["changes"] == ["update accounts/+390212345600 (owner, password)",
                                                                    "update accounts/+390212345601 (password)"]
    assert result["summary_text"][1].startswith("incremental run: read and planned only what changed in a.yml and the "
                                                "passwords since the run of ")
    assert result["summary_text"][1].endswith(" UTC (2 objects, and what they touch); the rest of the platform is as "
                                              "that run left it")


def test_a_changed_group_or_mode_forces_the_complete_run(tmp_path, applied, monkeypatch):
    changed = dict(PASSWORDS, **{DESKS[0]: "Another-desk-pw"})
    edit_owner(tmp_path, "Ada")
    assert run(tmp_path, applied, passwords={n: changed[n] for n in DESKS[:4]})["run"] == "incremental"
    write_state(tmp_path / "state", {"org.yml": {"groups": [{"name": "desks", "description": "Desk phones"}]},
                                     "a.yml": {"accounts": STATE["accounts"]}})
    with monkeypatch.context() as patched:  # known before the load: the complete run loads while it reads
        patched.setattr(incremental_run.declared_state, "load_checked_meanwhile", None)
        result = run(tmp_path, applied, passwords={n: changed[n] for n in DESKS[:4]})
    assert result["run"] == "complete" and result["changes"] == ["update groups/desks (description)",
                                                                 "update accounts/+390212345600 (owner)"]
    edit_owner(tmp_path, "Grace")
    result = run(tmp_path, applied, passwords={n: changed[n] for n in DESKS[:4]}, mode="overridden")
    assert result["run"] == "complete" and result["changes"] == ["update accounts/+390212345600 (owner)"]


def test_a_ci_container_without_the_parse_cache_plans_every_object_of_the_changed_file(tmp_path, applied):
    edit_owner(tmp_path, "Ada")
    planned = run(tmp_path, applied, check_mode=True, cache_dir=str(tmp_path / "ci-cache"))
    assert planned["run"] == "incremental" and planned["changes"] == ["update accounts/+390212345600 (owner)"]
    assert planned["summary_text"][1].endswith(" UTC (4 objects, and what they touch; every object of a.yml, whose "
                                               "earlier version the parse cache does not have); the rest of the "
                                               "platform is as that run left it")


def test_a_group_in_a_file_of_unknown_earlier_version_forces_the_complete_run(tmp_path, applied):
    """Accounts inherit from a group: unless the earlier version shows it unchanged, every account is planned."""
    path = tmp_path / "state" / "a.yml"
    path.write_text(yaml.safe_dump(dict(yaml.safe_load(path.read_text()), groups=[{"name": "others"}])))
    assert run(tmp_path, applied)["run"] == "complete"  # a new group
    edit_owner(tmp_path, "Ada")
    assert run(tmp_path, applied)["run"] == "incremental"
    edit_owner(tmp_path, "Grace")
    result = run(tmp_path, applied, cache_dir=str(tmp_path / "ci-cache"))
    assert result["run"] == "complete" and result["changes"] == ["update accounts/+390212345600 (owner)"]


def test_more_changed_objects_than_reads_by_key_are_worth_take_the_complete_run(tmp_path, applied, monkeypatch):
    monkeypatch.setattr(incremental_run, "MAX_CHANGED", 3)
    edit_owner(tmp_path, "Ada")
    assert run(tmp_path, applied)["run"] == "incremental"
    edit_owner(tmp_path, "Grace")
    assert run(tmp_path, applied, cache_dir=str(tmp_path / "ci-cache"))["run"] == "complete"  # a.yml's 4 accounts


def test_the_bench_edit_takes_the_incremental_path_through_ansible_playbook(playbook, tmp_path):
    """tests/bench/run.py's one-field change on its carrier shape (accounts, numbers, devices with channels)."""
    passwords = generate(str(playbook.state_dir), 400, numbers=400, devices=40)
    secrets, vault_password = tmp_path / "secrets.yml", tmp_path / "vault-pass"
    secrets.write_text(yaml.safe_dump(passwords))
    vault_password.write_text("bench only\n")
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-vault"), "encrypt", "--vault-password-file",
                    str(vault_password), str(secrets)], env=playbook.env(), check=True, capture_output=True)

    def site():
        return playbook.run("--vault-password-file", str(vault_password), extra_vars={"switchboard_secrets_file": str(secrets)})
    assert '"created 400 accounts, 2 groups, 400 numbers, 40 devices, 1 network list and 1 provisioning profile",' in site()
    accounts = playbook.state_dir / "accounts-000000.yml"
    accounts.write_text(accounts.read_text().replace("owner: Desk 0\n", "owner: Desk Zero\n", 1))
    output = site()
    assert '"updated 1 account",' in output and '"updated account: +390212000000",' in output
    assert '"incremental run: read and planned only what changed in accounts-000000.yml since the run of ' in output
    assert " UTC (1 object, and what they touch); the rest of the platform is as that run left it" in output
    assert '"nothing read: the state files, secrets and every platform table' in site()


def test_a_new_account_gets_a_username_free_on_the_whole_platform_and_state(tmp_path, applied, monkeypatch):
    """The plan would choose among the accounts read only: the incremental run chooses against all of them."""
    candidates = iter(["d03", "x1", "5550001"])  # on the platform only, declared only, free
    monkeypatch.setattr(incremental_run, "generate_username", lambda taken: next(c for c in candidates if c not in taken))
    path = tmp_path / "state" / "a.yml"
    accounts = yaml.safe_load(path.read_text())["accounts"][:3]  # d03 leaves the state: merged mode keeps it
    accounts += [{"number": DESKS[4], "group": "desks", "type": "snom"}, dict(desk(5), username="x1")]
    path.write_text(yaml.safe_dump({"accounts": accounts}))
    result = run(tmp_path, applied, passwords={n: PASSWORDS[n] for n in DESKS[:3] + DESKS[4:6]})
    assert result["run"] == "incremental"
    assert result["changes"] == ["create accounts/+390212345604", "create accounts/+390212345605"]
    assert db_rows(applied, "SELECT username FROM sb_accounts WHERE number = ?", (DESKS[4],)) == [("5550001",)]


@pytest.mark.parametrize("mode", ["merged", "overridden"])
def test_a_number_of_an_account_that_left_earlier(tmp_path, twins, mode, monkeypatch):
    """Merged mode keeps the account that left: its number is not free."""
    both = Twins(tmp_path, twins, mode, monkeypatch)
    files = copy.deepcopy(both.files)
    files["a.yml"]["accounts"].remove(mobile(3))
    assert both.step(files) == "incremental"
    files = copy.deepcopy(both.files)
    files["a.yml"]["accounts"][0]["additional_numbers"] = [mobile(3)["number"]]
    assert both.step(files) == ("problems" if mode == "merged" else "incremental")


@pytest.mark.parametrize("cache", ["cache", "ci-cache"])
@pytest.mark.parametrize("emptied", [True, False])
def test_an_emptied_file_deletes_what_it_declared_in_overridden_mode(tmp_path, applied, cache, emptied):
    """Without the parse cache (ci-cache), what the file declared is found on the platform: declared nowhere now."""
    write_state(tmp_path / "state", {"org.yml": {"groups": STATE["groups"]}, "a.yml": {"accounts": STATE["accounts"][:3]},
                                     "b.yml": {"accounts": STATE["accounts"][3:]}})
    assert run(tmp_path, applied, mode="overridden")["run"] == "complete"  # another mode: complete
    if emptied:
        (tmp_path / "state" / "b.yml").write_text("# moved away\n")
    else:
        (tmp_path / "state" / "b.yml").unlink()
    result = run(tmp_path, applied, mode="overridden", passwords={n: PASSWORDS[n] for n in DESKS[:3]},
                 cache_dir=str(tmp_path / cache))
    assert result["run"] == "incremental" and result["changes"] == ["delete accounts/+390212345603"]
    assert db_rows(applied, "SELECT count(*) FROM subscriber WHERE username = 'd03'") == [(0,)]
