# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet doors through real ansible-playbook runs: site.yml applies the PBX, then (switchboard_fleet_enabled)
the fleet play provisions real devices (one OpenSSH sshd per 127.0.0.x, baresip as their phone) and verifies
on a real Kamailio that each bound account is registered FROM its device's address. Passwords come from a
vault-encrypted secrets file and must never show up in any output, diff or report."""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import Playbook, recap_changed, write_state
from support import devices as device_support
from support.devices import DeviceFleet, keygen
from support.kamailio import KamailioServer
from support.ports import free_port

from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.database import initialise

DOMAIN = "127.0.0.1"  # the SIP domain: an IP, so no device ever resolves a name
GROUP = "desks"
FLEET_TASK = "Read every device over SSH, write only what differs, verify the registrations"
DEVICE_TASK = "Provision this device"
_numbers = itertools.count(1)

if not device_support.available():
    pytest.fail("openssh-server is not installed (make test installs it)", pytrace=False)


@pytest.fixture(scope="module")
def pbx(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fleet-pbx")
    dsn = "sqlite://%s" % (workdir / "pbx.sqlite")
    initialise(dsn)
    server = KamailioServer(dsn, workdir, sip_domain=DOMAIN).start()
    server.dsn = dsn
    yield server
    server.stop()


class Fleet:
    """Devices that all accept one provisioning key, and one known_hosts naming all of them."""

    def __init__(self, directory, count):
        self.directory = directory
        self.key_file = keygen(directory / "fleet_key", "switchboard@fleet")
        self.started = DeviceFleet(count)
        self.devices = self.started.devices
        for device in self.devices:
            device.prepare()
            (device.dir / "authorized_keys").write_text(Path(str(self.key_file) + ".pub").read_text())
        self.known_hosts = directory / "known_hosts"
        self.known_hosts.write_text("".join(device.known_hosts_line() for device in self.devices))

    def refuse_fleet_key(self, device):
        """The device only knows its own key now: the fleet's key is refused (a wrong key on the controller)."""
        (device.dir / "authorized_keys").write_text(Path(str(device.key_file) + ".pub").read_text())


@pytest.fixture
def fleet(tmp_path, request):
    count = getattr(request, "param", 3)
    started = Fleet(tmp_path, count)
    started.started.start()
    yield started
    started.started.stop()


class FleetPlaybook(Playbook):
    """site.yml (PBX, then the fleet) with the fleet's variables; results read from the json callback."""

    def __init__(self, tmp_path, pbx, fleet):
        super().__init__(tmp_path, pbx.dsn)
        self.pbx, self.fleet = pbx, fleet
        self.passwords = {}  # number -> password, written to a vault-encrypted secrets file
        self.vault_password = tmp_path / "vault-pass"
        self.vault_password.write_text("fleet vault passphrase\n")
        self.secrets = tmp_path / "secrets.yml"
        self.accounts, self.declared_devices = [], []
        self.group = {"name": GROUP}

    def account(self, multi_login=False, activation="plain"):
        number = "7%04d" % next(_numbers)
        account = {"number": number, "group": GROUP, "type": "sip", "username": "8%s" % number[1:]}
        if multi_login:
            account["multi_login"] = True
        if activation == "wizard":
            account.update(activation="wizard", type="pgsm", number="+3934%08d" % int(number), provisioning_profile="desk")
            del account["username"]
        else:
            self.passwords[account["number"]] = "Desk-Secret-%s-x" % number
        self.accounts.append(account)
        return account

    def device(self, device, name, *extensions, ip=None, port=None):
        channels = [{"index": index, "extension": extension} for index, extension in enumerate(extensions, 1)]
        self.declared_devices.append({"name": name, "group": GROUP, "ip": ip or device.ip, "port": port or device.port,
                                      "platform": "linux_baresip", "channels": channels or [{"index": 1}]})
        return self.declared_devices[-1]

    def write(self):
        write_state(self.state_dir, {"fleet.yml": {
            "provisioning_profiles": [{"name": "desk", "base_url": "http://127.0.0.1:5080"}], "groups": [self.group],
            "accounts": self.accounts, "devices": self.declared_devices}})
        self.secrets.write_text(yaml.safe_dump(self.passwords))
        subprocess.run([self.bin("ansible-vault"), "encrypt", "--vault-password-file", str(self.vault_password),
                        str(self.secrets)], env=self.env(), check=True, capture_output=True)

    @staticmethod
    def bin(name):
        return os.path.join(os.path.dirname(sys.executable), name)

    def fleet_vars(self, **extra):
        values = {"switchboard_sip_domain": DOMAIN, "switchboard_pbx_rpc_url": self.pbx.rpc_url,
                  "switchboard_secrets_file": str(self.secrets), "switchboard_fleet_enabled": True,
                  "switchboard_fleet_proxy": "%s:%d" % (DOMAIN, self.pbx.sip_port),
                  "switchboard_fleet_ssh_user": device_support.DEVICE_USER,
                  "switchboard_fleet_ssh_key_file": str(self.fleet.key_file),
                  "switchboard_fleet_known_hosts": str(self.fleet.known_hosts),
                  "switchboard_fleet_sip_port": 0, "switchboard_fleet_connect_timeout": 3,
                  "switchboard_fleet_verify_timeout": 8}
        values.update(extra)
        return values

    def apply(self, *extra, expect_rc=0, playbook="playbooks/site.yml", **variables):
        """A run with the default callback (what an operator reads); returns its output."""
        self.write()
        return self.run("--vault-password-file", str(self.vault_password), *extra, playbook=playbook,
                        extra_vars=self.fleet_vars(**variables), expect_rc=expect_rc)

    def result(self, *extra, expect_rc=0, task=FLEET_TASK, playbook="playbooks/site.yml", **variables):
        """A run at -v, where the default callback prints each task's result as JSON: {host: that task's result}."""
        output = self.apply("-v", *extra, expect_rc=expect_rc, playbook=playbook, **variables)
        assert "TASK [%s]" % task in output, output
        section = output.split("TASK [%s]" % task, 1)[1].split("\nTASK [", 1)[0].split("\nPLAY", 1)[0]
        found, decoder = {}, json.JSONDecoder()
        for marker in re.finditer(r"^(?:ok|changed|fatal): \[([^\]]+)\](?::| =>)[^{\n]*\{", section, re.M):
            found[marker.group(1)] = decoder.raw_decode(section, marker.end() - 1)[0]
        assert found, "no result of %r in:\n%s" % (task, output)
        return found


@pytest.fixture
def book(tmp_path, pbx, fleet):
    return FleetPlaybook(tmp_path, pbx, fleet)


def contacts(pbx, username):
    return sorted(c["source"].rpartition(":")[0] for c in pbx.rpc.registered_contacts() if c["username"] == username)


def wait_contacts(pbx, username, expected, timeout=8.0):
    deadline = time.monotonic() + timeout
    while contacts(pbx, username) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return contacts(pbx, username)


def by_name(result):
    return {device["name"]: device for device in result["devices"]}


def phone_file(device, name):
    return device.home / ".baresip" / name


def assert_no_secret(book):
    everything = "\n".join(book.outputs + [p.read_text() for p in book.report_dir.glob("*")])
    for password in book.passwords.values():
        assert password not in everything


def test_bind_apply_registers_from_the_device_then_nothing_to_write_then_unbind_logs_out(book, pbx, fleet):
    desk, spare, _third = fleet.devices
    account = book.account()
    book.device(desk, "desk-a", account["number"])
    book.device(spare, "desk-b")
    book.device(_third, "desk-c")

    # check mode: the PBX plan and every device read, nothing written anywhere
    [planned] = book.result("--check").values()
    assert by_name(planned)["desk-a"]["status"] == "changed" and by_name(planned)["desk-a"]["writes"] == 0
    assert by_name(planned)["desk-a"]["differences"] == ["channel 1: added (%s)" % account["username"],
                                                         "phone: stopped, to be started", "hotdesking: on -> off"]
    assert not phone_file(desk, "accounts").exists() and not phone_file(desk, "switchboard-hotdesking").exists()

    [result] = book.result().values()
    devices = by_name(result)
    assert devices["desk-a"]["status"] == "changed"
    assert devices["desk-a"]["after"] == {
        "lines": [{"index": 1, "username": account["username"], "domain": DOMAIN,
                   "proxy": "%s:%d" % (DOMAIN, pbx.sip_port), "password": "******** (changed)"}],
        "hotdesking": False, "phone_running": True}
    assert devices["desk-a"]["differences"] == ["channel 1: added (%s)" % account["username"],
                                                "phone: stopped, to be started", "hotdesking: on -> off"]
    # a device nobody is bound to is already as it should be: hot-desking on, no lines
    assert devices["desk-b"]["status"] == "unchanged" and devices["desk-b"]["writes"] == 0
    assert result["summary"] == {"changed": 1, "unchanged": 2}
    assert result["changed"] is True
    assert contacts(pbx, account["username"]) == [desk.ip]
    assert phone_file(desk, "switchboard-hotdesking").read_text() == "off\n"
    accounts_written = phone_file(desk, "accounts").stat().st_mtime_ns

    # a second apply: every device read, nothing written, still registered (verified again)
    [again] = book.result().values()
    assert again["summary"] == {"unchanged": 3}
    assert [d["writes"] for d in again["devices"]] == [0, 0, 0]
    assert again["changed"] is False
    assert phone_file(desk, "accounts").stat().st_mtime_ns == accounts_written
    output = book.apply()
    assert recap_changed(output) == 0

    # unbind: the extension is logged out of the device and hot-desking is back on
    book.declared_devices[0]["channels"] = [{"index": 1}]
    [unbound] = book.result().values()
    assert by_name(unbound)["desk-a"]["status"] == "changed"
    assert by_name(unbound)["desk-a"]["differences"] == ["channel 1: removed (%s)" % account["username"],
                                                         "hotdesking: off -> on"]
    assert wait_contacts(pbx, account["username"], []) == []
    assert phone_file(desk, "switchboard-hotdesking").read_text() == "on\n"
    assert phone_file(desk, "accounts").read_text() == ""
    assert_no_secret(book)


def test_multi_login_extension_registers_on_both_devices(book, pbx, fleet):
    first, second, third = fleet.devices
    shared = book.account(multi_login=True)
    own = book.account()
    book.device(first, "desk-a", shared["number"])
    book.device(second, "desk-b", own["number"], shared["number"])
    book.device(third, "desk-c")

    [result] = book.result().values()
    assert result["summary"] == {"changed": 2, "unchanged": 1}
    assert contacts(pbx, shared["username"]) == sorted([first.ip, second.ip])
    assert contacts(pbx, own["username"]) == [second.ip]
    assert [line["index"] for line in by_name(result)["desk-b"]["after"]["lines"]] == [1, 2]
    assert_no_secret(book)


def test_a_third_channel_for_a_multi_login_extension_is_refused_before_anything_is_written(book, fleet):
    first, second, third = fleet.devices
    shared = book.account(multi_login=True)
    for device, name in zip(fleet.devices, ("desk-a", "desk-b", "desk-c")):
        book.device(device, name, shared["number"])

    output = book.apply(playbook="playbooks/fleet.yml", expect_rc=2)
    assert ("fleet.yml: devices[2].channels[0].extension: extension %s is already bound to 2 channel(s) "
            "(fleet.yml: devices[0], fleet.yml: devices[1]) "
            "(rule: an extension sits on one channel, two with multi_login)" % shared["number"]) in output
    assert [phone_file(d, "accounts").exists() for d in (first, second, third)] == [False, False, False]


def test_a_device_outside_its_groups_ip_listing_is_refused_before_anything_is_written(book, fleet):
    desk = fleet.devices[0]
    account = book.account()
    book.device(desk, "desk-a", account["number"])
    book.group["ip_listing"] = {"enabled": True, "allow": ["10.20.0.0/16"]}

    output = book.apply(playbook="playbooks/fleet.yml", expect_rc=2)
    assert ("fleet.yml: devices[0].channels[0].extension: device desk-a has IP %s, outside the IP listing of group "
            "%s (rule: group IP listing)" % (desk.ip, GROUP)) in output
    assert not phone_file(desk, "accounts").exists()
    assert not phone_file(desk, "switchboard-hotdesking").exists()


def test_hand_edited_line_is_drift_in_check_mode_and_repaired_by_apply(book, pbx, fleet):
    desk = fleet.devices[0]
    account = book.account()
    book.device(desk, "desk-a", account["number"])
    book.apply()
    password = book.passwords[account["number"]]
    accounts = phone_file(desk, "accounts")
    accounts.write_text(accounts.read_text().replace("auth_pass=%s" % password, "auth_pass=Typed-By-Hand-9"))
    edited = accounts.stat().st_mtime_ns

    output = book.apply("--check", "--diff", "-vvv", playbook="playbooks/fleet.yml")
    assert recap_changed(output) == 1
    assert "-  password: '********'\n+  password: '******** (changed)'" in output
    assert "--- before: devices/desk-a (%s)" % desk.address in output
    assert "Typed-By-Hand-9" not in output
    assert accounts.stat().st_mtime_ns == edited  # check mode wrote nothing
    [checked] = book.result("--check", playbook="playbooks/fleet.yml").values()
    assert by_name(checked)["desk-a"]["status"] == "changed"
    assert by_name(checked)["desk-a"]["differences"] == ["channel 1: password differs"]
    assert by_name(checked)["desk-a"]["writes"] == 0

    [repaired] = book.result(playbook="playbooks/fleet.yml").values()
    assert by_name(repaired)["desk-a"]["status"] == "changed"
    assert "auth_pass=%s;" % password in accounts.read_text()
    assert wait_contacts(pbx, account["username"], [desk.ip]) == [desk.ip]
    [again] = book.result(playbook="playbooks/fleet.yml").values()
    assert again["summary"] == {"unchanged": 1}
    assert_no_secret(book)


def test_unreachable_and_wrong_key_devices_are_reported_while_the_others_are_provisioned(book, pbx, fleet):
    good, wrong_key, _spare = fleet.devices
    fleet.refuse_fleet_key(wrong_key)
    accounts = [book.account() for _n in range(3)]
    nowhere = free_port(good.ip, ("tcp",))
    book.device(good, "desk-a", accounts[0]["number"])
    book.device(wrong_key, "desk-b", accounts[1]["number"])
    book.device(good, "desk-gone", accounts[2]["number"], port=nowhere)

    [result] = book.result(expect_rc=2).values()
    devices = by_name(result)
    assert devices["desk-a"]["status"] == "changed"
    assert contacts(pbx, accounts[0]["username"]) == [good.ip]
    assert devices["desk-b"]["status"] == "auth_failed"
    assert devices["desk-gone"]["status"] == "unreachable"
    # a device that could not be read is not drift: no before, no differences
    assert devices["desk-gone"]["before"] is None and devices["desk-gone"]["differences"] == []
    assert result["msg"] == (
        "2 of 3 device(s) failed: desk-b (%s): auth_failed: the device refused the key %s; "
        "desk-gone (%s:%d): unreachable: Connection refused" % (wrong_key.address, fleet.key_file, good.ip, nowhere))
    assert not phone_file(wrong_key, "accounts").exists()

    # within max_fail_percentage the failures are a warning, and the task succeeds
    [tolerated] = book.result(switchboard_fleet_max_fail_percentage=70).values()
    assert "msg" not in tolerated
    assert tolerated["summary"] == {"unchanged": 1, "auth_failed": 1, "unreachable": 1}
    assert_no_secret(book)


def test_a_line_the_pbx_refuses_is_not_registered_with_the_phones_own_reason(book, pbx, fleet):
    desk = fleet.devices[0]
    account = book.account()
    book.device(desk, "desk-a", account["number"])
    book.apply()
    assert contacts(pbx, account["username"]) == [desk.ip]
    # the secrets file moved on, but only the fleet play runs: the device gets a password the PBX does not have
    book.passwords[account["number"]] = "Not-Yet-On-The-PBX-1"

    [result] = book.result(playbook="playbooks/fleet.yml", expect_rc=2, switchboard_fleet_verify_timeout=3).values()
    [device] = result["devices"]
    assert device["status"] == "not_registered"
    assert device["differences"] == ["channel 1: password differs"]
    assert result["msg"] == (
        "1 of 1 device(s) failed: desk-a (%s): not_registered: not registered on Kamailio from %s within 3s: "
        "channel 1 (%s, the phone says 403 Invalid credentials)" % (desk.address, desk.ip, account["username"]))
    assert contacts(pbx, account["username"]) == []

    # the PBX play, then the fleet: the device already holds that password, but its phone gave up after the 403
    [repaired] = book.result().values()
    [device] = repaired["devices"]
    assert device["status"] == "changed"
    assert device["differences"] == ["phone: no line registered, restarted"]
    assert contacts(pbx, account["username"]) == [desk.ip]
    [again] = book.result().values()
    assert again["summary"] == {"unchanged": 1} and again["devices"][0]["writes"] == 0
    assert_no_secret(book)


def test_a_wizard_account_on_a_device_is_invalid_for_that_device_only(book, pbx, fleet):
    desk, other, _spare = fleet.devices
    wizard = book.account(activation="wizard")
    plain = book.account()
    book.device(desk, "desk-a", wizard["number"])
    book.device(other, "desk-b", plain["number"])

    [result] = book.result(expect_rc=2).values()
    devices = by_name(result)
    assert devices["desk-a"]["status"] == "invalid"
    assert devices["desk-a"]["reason"] == (
        "fleet.yml: devices[0].channels[0].extension: desk-a: extension %s is a wizard account: its password is "
        "chosen by the system and never known, so it cannot be provisioned onto a desk phone "
        "(rule: only plain accounts go onto devices)" % wizard["number"])
    assert devices["desk-a"]["writes"] == 0 and not phone_file(desk, "accounts").exists()
    assert devices["desk-b"]["status"] == "changed"
    assert contacts(pbx, plain["username"]) == [other.ip]


def test_the_per_host_door_provisions_only_the_device_it_runs_for(book, pbx, fleet, tmp_path):
    desk, other, _spare = fleet.devices
    first, second = book.account(), book.account()
    book.device(desk, "desk-a", first["number"])
    book.device(other, "desk-b", second["number"])
    book.apply(switchboard_fleet_enabled=False)  # the accounts on the PBX, the fleet left alone
    assert not phone_file(other, "accounts").exists()

    book.inventory.write_text(yaml.safe_dump({"all": {"hosts": {
        "desk-a": {"ansible_host": desk.ip}, "desk-b": {"ansible_host": other.ip}}}}))
    per_host = tmp_path / "device.yml"
    per_host.write_text(yaml.safe_dump([{
        "name": "Provision devices one by one", "hosts": "all", "connection": "local", "gather_facts": False,
        "vars": {"ansible_python_interpreter": sys.executable},
        "tasks": [{"name": DEVICE_TASK, "switchboard.pbx.device": {
            "state_dir": "{{ switchboard_state_dir }}", "dsn": "{{ switchboard_pbx_dsn }}",
            "sip_domain": "{{ switchboard_sip_domain }}", "rpc_url": "{{ switchboard_pbx_rpc_url }}",
            "secrets_file": "{{ switchboard_secrets_file }}", "proxy": "{{ switchboard_fleet_proxy }}",
            "ssh_user": "{{ switchboard_fleet_ssh_user }}", "ssh_key_file": "{{ switchboard_fleet_ssh_key_file }}",
            "known_hosts": "{{ switchboard_fleet_known_hosts }}", "sip_port": 0}}]}]))

    hosts = book.result("--limit", "desk-b", task=DEVICE_TASK, playbook=str(per_host))
    assert list(hosts) == ["desk-b"]
    assert hosts["desk-b"]["status"] == "changed"
    assert hosts["desk-b"]["device"]["address"] == other.address
    assert contacts(pbx, second["username"]) == [other.ip]
    assert not phone_file(desk, "accounts").exists()  # desk-a was not in --limit

    hosts = book.result(task=DEVICE_TASK, playbook=str(per_host))
    assert {name: host["status"] for name, host in hosts.items()} == {"desk-a": "changed", "desk-b": "unchanged"}
    assert contacts(pbx, first["username"]) == [desk.ip]
    assert_no_secret(book)
