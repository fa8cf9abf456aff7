"""The inventory plugin switchboard.pbx.fleet through the real ansible-inventory: the declared state and the PBX
(built by the engine, on SQLite and PostgreSQL), constructed options, the cache, errors, and no secret anywhere."""

import json
import os
import resource
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from conftest import BUILD, REPO, SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine

ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
PASSWORDS = ("Desk-Secret-7001", "Desk-Secret-7002")

STATE = {
    "groups": [{"name": "office"}, {"name": "milano-office"}],
    "accounts": [
        {"number": "+390212345601", "group": "office", "type": "sip", "username": "7001", "password": PASSWORDS[0]},
        # no username: the PBX generates one on the first apply
        {"number": "+390212345602", "group": "milano-office", "type": "snom", "password": PASSWORDS[1]},
    ],
    "devices": [
        {"name": "desk-1", "group": "office", "ip": "127.0.0.11", "platform": "linux_baresip",
         "channels": [{"index": 2, "extension": None}, {"index": 1, "extension": "+390212345601"}]},
        {"name": "desk-2", "group": "milano-office", "ip": "127.0.0.12", "platform": "snom", "description": "Reception",
         "channels": [{"index": 1, "extension": "+390212345602"}]},
        {"name": "spare-3", "ip": "127.0.0.13", "platform": "linux_baresip"},
    ],
}

GRAPH = """@all:
  |--@ungrouped:
  |--@fleet:
  |  |--@group_milano_office:
  |  |  |--desk-2
  |  |--@group_office:
  |  |  |--desk-1
  |  |--@platform_linux_baresip:
  |  |  |--desk-1
  |  |  |--spare-3
  |  |--@platform_snom:
  |  |  |--desk-2
"""

DESK_1 = {
    "ansible_host": "127.0.0.11",
    "switchboard_platform": "linux_baresip",
    "switchboard_group": "office",
    "switchboard_description": None,
    "switchboard_channels": [{"index": 1, "extension": "+390212345601", "username": "7001"},
                             {"index": 2, "extension": None, "username": None}],
}


def plain(value):
    """--list marks the strings an inventory plugin gives as not to be templated ({"__ansible_unsafe": text}):
    right for names and descriptions from files; the tests compare the values."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def state_with(**changes):
    state = json.loads(json.dumps(STATE))
    state.update(changes)
    return state


class Inventory:
    """One inventory file (fleet.yml) in its own directory, run through the real ansible-inventory."""

    def __init__(self, tmp_path, config, name="fleet.yml"):
        self.tmp_path = tmp_path
        self.dir = tmp_path / "inventory"
        self.dir.mkdir(exist_ok=True)
        self.path = self.dir / name
        self.path.write_text(yaml.safe_dump(dict({"plugin": "switchboard.pbx.fleet"}, **config), sort_keys=False))
        self.outputs = []

    def env(self, **extra):
        env = dict(os.environ)
        env.update(ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(BUILD), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_HOME=str(self.tmp_path / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(self.tmp_path / "ansible-tmp"))
        env.pop("SWITCHBOARD_PBX_DSN", None)
        env.pop("SWITCHBOARD_STATE_DIR", None)
        env.update(extra)
        return env

    def run(self, *args, source=None, expect_rc=0, **env):
        command = [ANSIBLE_INVENTORY, "-i", str(source or self.path)] + list(args)
        done = subprocess.run(command, cwd=REPO, env=self.env(**env), capture_output=True, text=True, timeout=300,
                              check=False)
        self.outputs.append(done.stdout + done.stderr)
        assert done.returncode == expect_rc, done.stdout + done.stderr
        return done

    def graph(self, *args, **env):
        return self.run("--graph", *args, **env).stdout

    def host(self, name, *args, **env):
        return json.loads(self.run("--host", name, *args, **env).stdout)

    def listing(self, *args, **env):
        return plain(json.loads(self.run("--list", *args, **env).stdout))

    def error(self, *args, source=None, **env):
        """stderr of a run whose source cannot be parsed (an unparsed source fails the run)."""
        return self.run("--graph", *args, source=source, expect_rc=1, ANSIBLE_INVENTORY_UNPARSED_FAILED="1", **env).stderr

    def assert_no_secret(self, *secrets):
        for output in self.outputs:
            for secret in PASSWORDS + secrets:
                assert secret not in output


def apply(tmp_path, dsn, state):
    state_dir = write_state(tmp_path / "applied-state", {"fleet.yml": state})
    return engine.run(engine.Options(str(state_dir), dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))


def dsn_password(dsn):
    from urllib.parse import urlparse
    return urlparse(dsn).password


# --- the declared source ----------------------------------------------------------------------------------------
def test_declared_state_graph_host_and_list(tmp_path):
    write_state(tmp_path / "inventory" / "state", {"fleet.yml": STATE})
    inventory = Inventory(tmp_path, {"source": "declared", "state_dir": "state"})

    assert inventory.graph() == GRAPH
    assert inventory.host("desk-1") == DESK_1
    listing = inventory.listing()
    assert sorted(listing["_meta"]["hostvars"]) == ["desk-1", "desk-2", "spare-3"]
    assert listing["_meta"]["hostvars"]["desk-2"] == {
        "ansible_host": "127.0.0.12", "switchboard_platform": "snom", "switchboard_group": "milano-office",
        "switchboard_description": "Reception",
        # declared without a username and no dsn given: the inventory does not invent one
        "switchboard_channels": [{"index": 1, "extension": "+390212345602", "username": None}]}
    assert listing["_meta"]["hostvars"]["spare-3"]["switchboard_channels"] == []
    assert listing["fleet"] == {"children": ["group_milano_office", "group_office", "platform_linux_baresip",
                                             "platform_snom"]}
    verbose = inventory.run("--graph", "-v")  # the state's warnings, never the passwords they are about
    assert ("switchboard.pbx.fleet: 2 accounts have a plain-text password in the state (use !vault or the secrets "
            "file): +390212345601 and +390212345602") in " ".join((verbose.stdout + verbose.stderr).split())
    inventory.assert_no_secret()


def test_declared_state_takes_generated_usernames_from_the_pbx(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, STATE)
    [(generated,)] = db_rows(pbx_dsn, "SELECT username FROM sb_accounts WHERE number = '+390212345602'")
    write_state(tmp_path / "inventory" / "state", {"fleet.yml": STATE})
    inventory = Inventory(tmp_path, {"state_dir": "state"})  # source declared is the default

    host = inventory.host("desk-2", SWITCHBOARD_PBX_DSN=pbx_dsn)
    assert host["switchboard_channels"] == [{"index": 1, "extension": "+390212345602", "username": generated}]
    assert inventory.host("desk-1", SWITCHBOARD_PBX_DSN=pbx_dsn) == DESK_1  # a declared username is the declared one
    inventory.assert_no_secret(dsn_password(pbx_dsn) or "no password in a SQLite DSN")


# --- the PBX source ---------------------------------------------------------------------------------------------
def test_pbx_source_shows_the_actual_bindings(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, STATE)
    [(generated,)] = db_rows(pbx_dsn, "SELECT username FROM sb_accounts WHERE number = '+390212345602'")
    # The state moves on (desk-1 unbound, a new device) but is not applied: the PBX still has the old bindings.
    moved = state_with(devices=[dict(STATE["devices"][0], channels=[{"index": 1, "extension": None}]),
                                STATE["devices"][1], STATE["devices"][2],
                                {"name": "desk-4", "ip": "127.0.0.14", "platform": "snom"}])
    write_state(tmp_path / "inventory" / "state", {"fleet.yml": moved})
    inventory = Inventory(tmp_path, {"source": "pbx", "dsn": pbx_dsn, "sip_domain": SIP_DOMAIN})

    assert inventory.graph() == GRAPH
    assert inventory.host("desk-1") == dict(DESK_1, switchboard_sip_domain=SIP_DOMAIN)
    listing = inventory.listing()
    assert listing["_meta"]["hostvars"]["desk-2"]["switchboard_channels"] == [
        {"index": 1, "extension": "+390212345602", "username": generated}]

    declared = Inventory(tmp_path, {"source": "declared"}, name="declared.fleet.yml")  # state_dir defaults to state
    assert declared.host("desk-1")["switchboard_channels"] == [{"index": 1, "extension": None, "username": None}]
    assert "desk-4" in declared.graph()
    inventory.assert_no_secret(dsn_password(pbx_dsn) or "no password in a SQLite DSN")


def test_pbx_source_through_the_environment_never_shows_the_dsn_password(tmp_path, pg_cluster):
    dsn = pg_cluster.new_database("pbx_inventory_env")
    apply(tmp_path, dsn, STATE)
    inventory = Inventory(tmp_path, {"source": "pbx"})
    assert inventory.graph(SWITCHBOARD_PBX_DSN=dsn) == GRAPH
    assert '"desk-2"' in inventory.run("--list", "-vvv", SWITCHBOARD_PBX_DSN=dsn).stdout
    inventory.assert_no_secret(dsn_password(dsn))


# --- constructed ------------------------------------------------------------------------------------------------
CONSTRUCTED = {
    "compose": {"ansible_user": "'phone'", "bound_extensions": "switchboard_channels | map(attribute='extension') | select | list"},
    "groups": {"free_devices": "switchboard_channels | selectattr('extension') | list | length == 0"},
    "keyed_groups": [{"key": "switchboard_channels | map(attribute='username') | select | list", "prefix": "line"},
                     {"key": "switchboard_platform", "prefix": "os", "parent_group": "by_os"}],
}


@pytest.mark.parametrize("source", ["declared", "pbx"])
def test_compose_groups_and_keyed_groups(tmp_path, sqlite_dsn, source):
    apply(tmp_path, sqlite_dsn, STATE)
    write_state(tmp_path / "inventory" / "state", {"fleet.yml": STATE})
    inventory = Inventory(tmp_path, dict(CONSTRUCTED, source=source, dsn=sqlite_dsn, strict=True))

    listing = inventory.listing()
    [(generated,)] = db_rows(sqlite_dsn, "SELECT username FROM sb_accounts WHERE number = '+390212345602'")
    assert listing["free_devices"] == {"hosts": ["spare-3"]}
    assert listing["line_7001"] == {"hosts": ["desk-1"]}
    assert listing["line_%s" % generated] == {"hosts": ["desk-2"]}
    assert listing["by_os"] == {"children": ["os_linux_baresip", "os_snom"]}
    assert listing["os_linux_baresip"] == {"hosts": ["desk-1", "spare-3"]}
    desk_1 = listing["_meta"]["hostvars"]["desk-1"]
    assert (desk_1["ansible_user"], desk_1["bound_extensions"]) == ("phone", ["+390212345601"])
    assert inventory.host("spare-3")["bound_extensions"] == []
    inventory.assert_no_secret()


def test_strict_off_skips_what_cannot_be_composed_strict_on_fails(tmp_path):
    write_state(tmp_path / "inventory" / "state", {"fleet.yml": STATE})
    broken = {"compose": {"ansible_port": "device_ssh_port", "ansible_user": "'phone'"},
              "keyed_groups": [{"key": "device_site", "prefix": "site"}, {"key": "switchboard_group", "prefix": "sb"}]}

    lenient = Inventory(tmp_path, dict(broken, strict=False))
    host = lenient.host("desk-1")
    assert "ansible_port" not in host and host["ansible_user"] == "phone"
    assert "@sb_office:" in lenient.graph() and "site" not in lenient.graph()

    error = Inventory(tmp_path, dict(broken, strict=True)).error()
    assert "Could not set ansible_port for host desk-1: " in error and "device_ssh_port" in error
    keyed_only = Inventory(tmp_path, dict(broken, strict=True, compose={}), name="keyed.fleet.yml").error()
    assert "Could not generate group for host desk-1 from device_site entry: " in keyed_only


# --- the cache --------------------------------------------------------------------------------------------------
def cached(tmp_path, constructed=None, **config):
    settings = dict(constructed or {}, cache=True, cache_plugin="ansible.builtin.jsonfile",
                    cache_connection=str(tmp_path / "cache"), cache_timeout=3600)
    settings.update(config)
    return settings


def test_cache_serves_the_second_run_until_flush_cache(tmp_path):
    state_dir = write_state(tmp_path / "inventory" / "state", {"fleet.yml": STATE})
    inventory = Inventory(tmp_path, cached(tmp_path, state_dir="state"))
    assert inventory.graph() == GRAPH
    [cache_file] = (tmp_path / "cache").iterdir()
    assert "_switchboard.pbx.fleet_" in cache_file.name

    grown = state_with(devices=STATE["devices"] + [{"name": "desk-4", "ip": "127.0.0.14", "platform": "snom"}])
    write_state(state_dir, {"fleet.yml": grown})
    assert inventory.graph() == GRAPH  # served from the cache: the new device is not there
    assert "desk-4" in inventory.graph("--flush-cache")
    write_state(state_dir, {"fleet.yml": STATE})
    assert "desk-4" in inventory.graph()  # --flush-cache refreshed the cache, which serves again

    shutil.rmtree(state_dir)  # the cached answer needs no source at all
    assert inventory.host("desk-4")["ansible_host"] == "127.0.0.14"
    assert "the state directory does not exist" in inventory.error("--flush-cache")
    for path in (tmp_path / "cache").iterdir():
        assert not any(secret in path.read_text() for secret in PASSWORDS)
    inventory.assert_no_secret()


def test_pbx_source_cached_with_constructed_groups_until_flush_cache(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, STATE)
    inventory = Inventory(tmp_path, cached(tmp_path, CONSTRUCTED, source="pbx", dsn=pbx_dsn))
    first = inventory.listing()
    assert first["line_7001"] == {"hosts": ["desk-1"]} and first["free_devices"] == {"hosts": ["spare-3"]}

    # The PBX changes: desk-1's line moves to spare-3.
    apply(tmp_path, pbx_dsn, state_with(devices=[
        dict(STATE["devices"][0], channels=[{"index": 1, "extension": None}]), STATE["devices"][1],
        dict(STATE["devices"][2], channels=[{"index": 1, "extension": "+390212345601"}])]))
    assert inventory.listing() == first  # served from the cache
    flushed = inventory.listing("--flush-cache")
    assert flushed["line_7001"] == {"hosts": ["spare-3"]} and flushed["free_devices"] == {"hosts": ["desk-1"]}
    assert inventory.listing() == flushed  # the refreshed cache serves again
    inventory.assert_no_secret(dsn_password(pbx_dsn) or "no password in a SQLite DSN")
    for path in (tmp_path / "cache").iterdir():
        assert pbx_dsn not in path.read_text() and "Desk-Secret" not in path.read_text()


def test_cache_key_holds_the_source_and_its_settings(tmp_path, sqlite_dsn):
    apply(tmp_path, sqlite_dsn, STATE)
    other_dir = write_state(tmp_path / "inventory" / "other", {"fleet.yml": state_with(devices=STATE["devices"][:1])})
    write_state(tmp_path / "inventory" / "state", {"fleet.yml": STATE})
    inventory = Inventory(tmp_path, cached(tmp_path, state_dir="state"))
    assert "spare-3" in inventory.graph()

    Inventory(tmp_path, cached(tmp_path, state_dir=str(other_dir)))  # the same file, another directory
    assert "spare-3" not in inventory.graph()
    Inventory(tmp_path, cached(tmp_path, source="pbx", dsn=sqlite_dsn))  # the same file, another source
    shutil.rmtree(other_dir)
    assert inventory.graph() == GRAPH  # read from the PBX, not the declared source's entry
    assert len(list((tmp_path / "cache").iterdir())) == 3


# --- errors -----------------------------------------------------------------------------------------------------
def test_missing_state_dir_and_invalid_state_are_clear_errors(tmp_path):
    inventory = Inventory(tmp_path, {"state_dir": "nowhere"})
    assert ("switchboard.pbx.fleet (source declared): 1 problem in the declared state:\n%s: the state "
            "directory does not exist (rule: state_dir must be a directory)" % (tmp_path / "inventory" / "nowhere")
            ) in inventory.error()

    bad = state_with(devices=[{"name": "desk-1", "ip": "127.0.0.11", "platform": "linux_baresip",
                               "channels": [{"index": 1, "extension": "+390299999999"}]}])
    write_state(tmp_path / "inventory" / "state", {"fleet.yml": bad})
    error = Inventory(tmp_path, {"state_dir": "state"}).error()
    assert "fleet.yml: devices[0].channels[0].extension: " in error and "+390299999999" in error
    inventory.assert_no_secret()


def test_bad_dsn_is_a_clear_error_without_its_password(tmp_path, pg_cluster):
    inventory = Inventory(tmp_path, {"source": "pbx"})
    assert ("switchboard.pbx.fleet: source pbx needs the option dsn (or SWITCHBOARD_PBX_DSN)" in inventory.error())

    assert ("switchboard_pbx_dsn 'mysql://pbx:********@127.0.0.1/pbx': use sqlite:///ABSOLUTE/PATH or "
            "postgresql://USER:PASSWORD@HOST:PORT/DB" in inventory.error(SWITCHBOARD_PBX_DSN="mysql://pbx:Db-Secret-1@127.0.0.1/pbx"))

    missing = "sqlite:///%s" % (tmp_path / "no-such.sqlite")
    assert "switchboard.pbx.fleet (source pbx): the PBX database %s does not exist" % missing in inventory.error(
        SWITCHBOARD_PBX_DSN=missing)
    assert not (tmp_path / "no-such.sqlite").exists()

    wrong = pg_cluster.new_database("pbx_inventory_wrong").replace(":%s@" % pg_cluster.password, ":Wrong-Db-Secret@")
    error = inventory.error(SWITCHBOARD_PBX_DSN=wrong)
    assert "cannot connect to the PBX database 'pbx_inventory_wrong' on 127.0.0.1:" in error
    assert "password authentication failed" in error
    inventory.assert_no_secret("Db-Secret-1", "Wrong-Db-Secret", pg_cluster.password)


def test_only_files_named_like_a_fleet_are_this_plugins(tmp_path):
    write_state(tmp_path / "inventory" / "state", {"fleet.yml": STATE})
    assert Inventory(tmp_path, {}, name="site.fleet.switchboard.yml").graph() == GRAPH
    error = Inventory(tmp_path, {}, name="inventory.yml").error(source=tmp_path / "inventory" / "inventory.yml")
    assert "could not be verified by inventory plugin 'switchboard.pbx.fleet'" in error


# --- the repository's own inventories ---------------------------------------------------------------------------
def test_repository_inventories_parse_and_the_lab_shows_declared_devices(tmp_path):
    inventory = Inventory(tmp_path, {})
    for name in ("demo", "lab"):
        done = inventory.run("--graph", source=REPO / "inventories" / name, ANSIBLE_INVENTORY_UNPARSED_FAILED="1")
        assert "pbx" in done.stdout and "WARNING" not in done.stderr, done.stderr

    lab = tmp_path / "lab"
    shutil.copytree(REPO / "inventories" / "lab", lab)
    state = yaml.safe_load((lab / "state" / "lab.yml").read_text())
    state["devices"] = [{"name": "lab-phone-%d" % i, "group": "lab", "ip": "127.0.0.%d" % (10 + i),
                         "platform": "linux_baresip", "channels": [{"index": 1, "extension": None}]} for i in (1, 2, 3)]
    state["devices"][0]["channels"][0]["extension"] = "+390200001001"
    (lab / "state" / "lab.yml").write_text(yaml.safe_dump(state, sort_keys=False))
    done = inventory.run("--graph", source=lab, ANSIBLE_INVENTORY_UNPARSED_FAILED="1")
    assert done.stdout == """@all:
  |--@ungrouped:
  |  |--pbx
  |--@fleet:
  |  |--@group_lab:
  |  |  |--lab-phone-1
  |  |  |--lab-phone-2
  |  |  |--lab-phone-3
  |  |--@platform_linux_baresip:
  |  |  |--lab-phone-1
  |  |  |--lab-phone-2
  |  |  |--lab-phone-3
""", done.stderr
    host = json.loads(inventory.run("--host", "lab-phone-1", source=lab).stdout)
    assert host["switchboard_channels"] == [{"index": 1, "extension": "+390200001001", "username": "1001"}]
    assert "Lab-Desk-1001" not in "".join(inventory.outputs)


# --- speed ------------------------------------------------------------------------------------------------------
def fleet_of(count):
    return {
        "groups": [{"name": "floor-%d" % f} for f in range(10)],
        "accounts": [{"number": "+3902%08d" % i, "group": "floor-%d" % (i % 10), "type": "sip",
                      "username": "u%d" % i, "password": "Fleet-Line-%d" % i} for i in range(count)],
        "devices": [{"name": "phone-%04d" % i, "group": "floor-%d" % (i % 10), "ip": "10.1.%d.%d" % (i // 250, i % 250 + 1),
                     "platform": "linux_baresip",
                     "channels": [{"index": 1, "extension": "+3902%08d" % i}, {"index": 2, "extension": None}]}
                    for i in range(count)],
    }


def timed_listing(inventory):
    """(listing, wall seconds, CPU seconds of ansible-inventory): the CPU figure holds on a busy machine too."""
    before, started = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    listing = inventory.listing()
    wall, after = time.monotonic() - started, resource.getrusage(resource.RUSAGE_CHILDREN)
    return listing, wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def test_thousand_devices_list_time(tmp_path, sqlite_dsn, capsys):
    state = fleet_of(1000)
    apply(tmp_path, sqlite_dsn, state)
    write_state(tmp_path / "inventory" / "state", {"fleet.yml": state})
    figures = []
    for source in ("declared", "pbx"):
        for label, constructed in (("plain", {}), ("constructed", CONSTRUCTED)):
            inventory = Inventory(tmp_path, dict(constructed, source=source, dsn=sqlite_dsn),
                                  name="%s-%s.fleet.yml" % (source, label))
            listing, wall, cpu = timed_listing(inventory)
            assert len(listing["_meta"]["hostvars"]) == 1000
            assert listing["_meta"]["hostvars"]["phone-0999"]["switchboard_channels"][0]["username"] == "u999"
            assert ("line_u999" in listing) == bool(constructed)
            figures.append((source, label, wall, cpu))
    with capsys.disabled():
        print("\nansible-inventory --list, 1000 devices (wall / CPU): "
              + ", ".join("%s %s %.1f s / %.1f s" % figure for figure in figures))
    # Ansible's own start is ~1 s of it; constructed costs Ansible ~1 ms per expression and host.
    assert all(cpu < 8 for _source, label, _wall, cpu in figures if label == "plain"), figures
