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

    def edit(self, files):
        return self.random.choice([self.field, self.field, self.add, self.delete, self.move, self.number_group,
                                   self.bind, self.unbind, self.peer, self.spare, self.take_number, self.device])(files)

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


@pytest.mark.parametrize("mode", ["merged", "overridden"])
def test_incremental_runs_equal_complete_runs(tmp_path, twins, mode):
    incremental_dsn, complete_dsn = twins
    files = base_state()
    write_state(tmp_path / "state", files)
    caches = iter(range(1000))

    def complete_run():  # a parse cache of its own each time: the previous documents are never there
        return engine.run(options(tmp_path, complete_dsn, tmp_path / ("cache-%d" % next(caches)), mode=mode))

    def incremental():
        return engine.run(options(tmp_path, incremental_dsn, tmp_path / "cache", mode=mode))

    assert outcome(incremental)[1] == outcome(complete_run)[1] == "complete"
    editor, paths = Editor(mode), {"incremental": 0, "problems": 0}
    for step in range(25):
        edited = copy.deepcopy(files)
        what = [editor.edit(edited) for _ in range(editor.random.randrange(1, 4))]
        write_state(tmp_path / "state", edited)
        told, path = outcome(incremental)
        expected, complete_path = outcome(complete_run)
        assert told == expected, (step, what)
        if "problems" in told:  # refused, nothing written: back to the state the platform has
            write_state(tmp_path / "state", files)
            paths["problems"] += 1
            continue
        if edited == files:  # an edit that changed nothing (a channel already free)
            assert path == complete_path == "unchanged"
            continue
        assert path == "incremental" and complete_path == "complete", (step, what)
        assert platform_rows(incremental_dsn) == platform_rows(complete_dsn), (step, what)
        paths["incremental"] += 1
        files = edited
    assert paths["incremental"] >= 15 and paths["problems"] >= 1, paths


STATE = {"groups": [{"name": "desks"}],
         "accounts": [{"number": DESKS[i], "group": "desks", "type": "snom", "username": "d%02d" % i} for i in range(4)]}


@pytest.fixture
def applied(tmp_path, pbx_dsn):
    write_state(tmp_path / "state", {"org.yml": {"groups": STATE["groups"]}, "a.yml": {"accounts": STATE["accounts"]}})
    assert engine.run(options(tmp_path, pbx_dsn, tmp_path / "cache",
                              passwords={n: PASSWORDS[n] for n in DESKS[:4]}))["run"] == "complete"
    return pbx_dsn


def run(tmp_path, dsn, **changes):
    return engine.run(options(tmp_path, dsn, tmp_path / "cache", **dict({"passwords": {n: PASSWORDS[n] for n in DESKS[:4]}},
                                                                       **changes)))


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
    real_load = declared_state.load

    def load_while_someone_writes(*args, **kwargs):  # the record was checked already: the read must see the write
        by_hand(applied, "UPDATE subscriber SET ha1 = 'ffffffffffffffffffffffffffffffff' WHERE username = 'd03'")
        return real_load(*args, **kwargs)
    monkeypatch.setattr(incremental_run.declared_state, "load", load_while_someone_writes)
    edit_owner(tmp_path, "Ada")
    result = run(tmp_path, applied)
    assert result["run"] == "complete"
    assert sorted(result["changes"]) == ["update accounts/+390212345600 (owner)", "update accounts/+390212345603 (password)"]


def test_a_changed_group_secret_mode_or_lost_cache_entry_forces_the_complete_run(tmp_path, applied):
    edit_owner(tmp_path, "Ada")
    changed = dict(PASSWORDS, **{DESKS[0]: "Another-desk-pw"})
    result = run(tmp_path, applied, passwords={n: changed[n] for n in DESKS[:4]})
    assert result["run"] == "complete" and result["changes"] == ["update accounts/+390212345600 (owner, password)"]
    write_state(tmp_path / "state", {"org.yml": {"groups": [{"name": "desks", "description": "Desk phones"}]},
                                     "a.yml": {"accounts": STATE["accounts"]}})
    result = run(tmp_path, applied, passwords={n: changed[n] for n in DESKS[:4]})
    assert result["run"] == "complete" and result["changes"] == ["update groups/desks (description)",
                                                                 "update accounts/+390212345600 (owner)"]
    edit_owner(tmp_path, "Grace")
    result = run(tmp_path, applied, passwords={n: changed[n] for n in DESKS[:4]}, mode="overridden")
    assert result["run"] == "complete" and result["changes"] == ["update accounts/+390212345600 (owner)"]
    edit_owner(tmp_path, "Ada")
    result = run(tmp_path, applied, passwords={n: changed[n] for n in DESKS[:4]}, mode="overridden",
                 cache_dir=str(tmp_path / "another-cache"))
    assert result["run"] == "complete" and result["changes"] == ["update accounts/+390212345600 (owner)"]
    edit_owner(tmp_path, "Grace")
    assert run(tmp_path, applied, passwords={n: changed[n] for n in DESKS[:4]}, mode="overridden",
               cache_dir=str(tmp_path / "another-cache"))["run"] == "incremental"


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
