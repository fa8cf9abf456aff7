# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The linux_baresip driver against real devices (one OpenSSH sshd per 127.0.0.x, key-only, host key
verified) and a real Kamailio: a line written over SSH makes the device's baresip register FROM the
device's address. Accounts are created through the engine (support.platform). The PBX database engine
does not matter to a device, so Kamailio runs on SQLite only."""

from __future__ import annotations

import itertools
import os
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ansible_collections.switchboard.pbx.plugins.module_utils.fleet.driver import (  # noqa: E402
    DesiredLine, DeviceError, Line, Target, password_digest)
from ansible_collections.switchboard.pbx.plugins.module_utils.fleet.platforms import driver_for  # noqa: E402
from support import devices  # noqa: E402
from support.devices import DeviceFleet, SshDevice, keygen  # noqa: E402
from support.kamailio import KamailioServer  # noqa: E402
from support.platform import DeclaredPlatform  # noqa: E402
from support.ports import free_port  # noqa: E402

DOMAIN = "127.0.0.1"
_ids = itertools.count(1)

if not devices.available():
    pytest.fail("openssh-server is not installed (make test installs it)", pytrace=False)


@pytest.fixture(scope="module")
def pbx(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fleet-kamailio")
    dsn = "sqlite://%s" % (workdir / "pbx.sqlite")
    rows = DeclaredPlatform(dsn, DOMAIN, workdir)
    server = KamailioServer(dsn, workdir, sip_domain=DOMAIN).start()
    rows.rpc_url = server.rpc.url
    server.rows = rows
    yield server
    server.stop()


@pytest.fixture
def device():
    with SshDevice() as started:
        yield started


def target_for(device, **changes):
    values = dict(name="desk-%s" % device.ip.rsplit(".", 1)[1], host=device.ip, port=device.port,
                  username=device.username, key_file=str(device.key_file), known_hosts=str(device.known_hosts),
                  conn_timeout=5.0, options={"sip_port": device.sip_port})
    values.update(changes)
    return Target(**values)


def driver(device, **changes):
    return driver_for(target_for(device, **changes), "linux_baresip")


def new_account(pbx):
    """An account created through the engine; returns (username, password)."""
    username = "8%05d" % next(_ids)
    password = "pw-%s-secret" % username
    pbx.rows.add_account(username, password)
    return username, password


def line_for(pbx, username, password, index=1):
    return DesiredLine(index, username, DOMAIN, "%s:%d" % (DOMAIN, pbx.sip_port), password)


def contacts_of(pbx, username):
    return [c for c in pbx.rpc.registered_contacts() if c["username"] == username]


def wait_contacts(pbx, username, present, timeout=5.0):
    deadline = time.monotonic() + timeout
    while bool(contacts_of(pbx, username)) != present and time.monotonic() < deadline:
        time.sleep(0.05)
    return contacts_of(pbx, username)


def phone_file(device, name):
    return device.home / ".baresip" / name


def test_a_written_line_registers_from_the_device_address_and_reads_back_without_password(pbx, device):
    username, password = new_account(pbx)
    with driver(device) as phone:
        assert phone.read().public() == {"lines": [], "hotdesking": True, "phone_running": False}
        assert phone.apply([line_for(pbx, username, password)], hotdesking=False) == "changed"
        assert phone.verify() == {username: (200, "OK")}
        state = phone.read()

    [contact] = wait_contacts(pbx, username, present=True)
    assert contact["source"] == "%s:%d" % (device.ip, device.sip_port)
    assert contact["contact"].split("@")[1].startswith("%s:%d" % (device.ip, device.sip_port))
    assert state.lines == (Line(1, username, DOMAIN, "%s:%d" % (DOMAIN, pbx.sip_port), password_digest(password)),)
    assert state.public() == {"lines": [{"index": 1, "username": username, "domain": DOMAIN,
                                         "proxy": "%s:%d" % (DOMAIN, pbx.sip_port), "password": "********"}],
                              "hotdesking": False, "phone_running": True}
    assert password not in repr(state) and password not in repr(line_for(pbx, username, password))
    assert phone_file(device, "accounts").stat().st_mode & 0o777 == 0o600
    # the password is in the phone's accounts file and nowhere else on the device (no log, no temp file)
    holders = [p.name for p in device.dir.rglob("*") if p.is_file() and password.encode() in p.read_bytes()]
    assert holders == ["accounts"]


def test_a_second_apply_of_the_same_lines_makes_no_ssh_write(pbx, device):
    username, password = new_account(pbx)
    with driver(device) as phone:
        assert phone.apply([line_for(pbx, username, password)], hotdesking=False) == "changed"
        assert phone.writes == 5  # hot-desking flag, config, accounts, phone stopped, phone started
    accounts_written = phone_file(device, "accounts").stat().st_mtime_ns
    phone_pid = phone_file(device, "baresip.pid").read_text()

    with driver(device) as again:
        assert again.apply([line_for(pbx, username, password)], hotdesking=False) == "unchanged"
        assert again.writes == 0
    assert phone_file(device, "accounts").stat().st_mtime_ns == accounts_written
    assert phone_file(device, "baresip.pid").read_text() == phone_pid


def test_a_line_edited_by_hand_on_the_device_reads_as_different_and_is_repaired(pbx, device):
    username, password = new_account(pbx)
    wanted = [line_for(pbx, username, password)]
    with driver(device) as phone:
        phone.apply(wanted, hotdesking=False)
    accounts = phone_file(device, "accounts")
    accounts.write_text(accounts.read_text().replace("auth_pass=%s" % password, "auth_pass=typed-by-hand"))

    with driver(device) as phone:
        [edited] = phone.read().lines
        assert edited.password_digest == password_digest("typed-by-hand")
        assert edited != wanted[0].as_read()
        assert phone.apply(wanted, hotdesking=False) == "changed"
        assert phone.read().lines == (wanted[0].as_read(),)
        assert phone.verify() == {username: (200, "OK")}


def test_a_line_removed_by_hand_or_a_stopped_phone_is_drift(pbx, device):
    username, password = new_account(pbx)
    wanted = [line_for(pbx, username, password)]
    with driver(device) as phone:
        phone.apply(wanted, hotdesking=False)
    phone_file(device, "accounts").write_text("")
    with driver(device) as phone:
        assert phone.read().lines == ()
        assert phone.apply(wanted, hotdesking=False) == "changed"
    os.kill(int(phone_file(device, "baresip.pid").read_text()), 15)  # the phone crashed / the device rebooted
    with driver(device) as phone:
        deadline = time.monotonic() + 5
        while phone.read().phone_running and time.monotonic() < deadline:
            time.sleep(0.05)
        assert phone.read().public()["phone_running"] is False
        assert phone.apply(wanted, hotdesking=False) == "changed"
        assert phone.verify() == {username: (200, "OK")}


def test_hotdesking_flag_is_read_and_written_without_touching_the_lines(device):
    with driver(device) as phone:
        assert phone.read().hotdesking is True  # no flag file: a device nobody is bound to is free
        phone.write(hotdesking=False)
        assert phone.read().hotdesking is False
        assert phone_file(device, "switchboard-hotdesking").read_text() == "off\n"
        assert not phone_file(device, "accounts").exists()
        assert phone.apply([], hotdesking=True) == "changed"
        assert phone.writes == 2  # one flag file each time, nothing else
        assert phone.read().hotdesking is True
    phone_file(device, "switchboard-hotdesking").write_text("maybe\n")
    with driver(device) as phone:
        assert phone.read().hotdesking is None  # unknown: differs from any wish, so it is rewritten
        assert phone.apply([], hotdesking=True) == "changed"
        assert phone.read().hotdesking is True


def test_writing_no_lines_stops_the_phone_and_logs_the_line_out(pbx, device):
    username, password = new_account(pbx)
    with driver(device) as phone:
        phone.apply([line_for(pbx, username, password)], hotdesking=False)
        assert phone.verify() == {username: (200, "OK")}
        assert wait_contacts(pbx, username, present=True)
        assert phone.apply([], hotdesking=True) == "changed"
        assert phone.read().public() == {"lines": [], "hotdesking": True, "phone_running": False}
    assert wait_contacts(pbx, username, present=False) == []


def test_a_wrong_password_on_the_device_is_seen_by_verify(pbx, device):
    username, _password = new_account(pbx)
    with driver(device) as phone:
        phone.apply([line_for(pbx, username, "not-the-password")], hotdesking=False)
        assert phone.verify() == {username: (403, "Invalid credentials")}
    assert contacts_of(pbx, username) == []


def test_a_password_baresip_cannot_carry_is_refused_before_anything_is_written(pbx, device):
    with driver(device) as phone:
        with pytest.raises(DeviceError) as refused:
            phone.apply([line_for(pbx, "800999", "semi;colon-pw")], hotdesking=False)
        assert phone.writes == 0
    assert refused.value.status == "device_error"
    assert str(refused.value) == (
        "%s (%s): device_error: channel 1 (800999): the password has a character baresip's accounts file "
        "cannot carry (white space, control, ; \" < > \\)" % (phone.target.name, device.address))
    assert not phone_file(device, "accounts").exists()


def test_a_port_with_nothing_listening_is_unreachable(device):
    closed = free_port(device.ip, ("tcp",))
    with pytest.raises(DeviceError) as failed:
        driver(device, port=closed).connect()
    assert failed.value.status == "unreachable"
    assert str(failed.value) == "desk-%s (%s:%d): unreachable: Connection refused" % (
        device.ip.rsplit(".", 1)[1], device.ip, closed)


def test_a_port_that_never_speaks_ssh_is_unreachable_after_the_connect_timeout(device):
    silent = socket.socket()
    silent.bind((device.ip, 0))
    silent.listen(5)
    try:
        started = time.monotonic()
        with pytest.raises(DeviceError) as failed:
            driver(device, port=silent.getsockname()[1], conn_timeout=1.0).connect()
        waited = time.monotonic() - started
    finally:
        silent.close()
    assert failed.value.status == "unreachable"
    assert failed.value.reason == "no SSH session within 1s"
    assert waited < 5


def test_an_unknown_platform_is_refused_by_name(device):
    with pytest.raises(ValueError) as refused:
        driver_for(target_for(device), "snom_xml")
    assert str(refused.value) == "device %s: no driver for platform 'snom_xml' (known: linux_baresip)" % (
        target_for(device).name)


def test_a_wrong_ssh_key_is_auth_failed(device):
    other_key = keygen(device.dir / "other_key", "not-authorised")
    with pytest.raises(DeviceError) as failed:
        driver(device, key_file=str(other_key)).connect()
    assert failed.value.status == "auth_failed"
    assert failed.value.reason == "the device refused the key %s" % other_key


def test_a_host_key_not_in_known_hosts_is_auth_failed_and_nothing_is_sent(device):
    with SshDevice() as impostor:
        with pytest.raises(DeviceError) as failed:
            driver(device, known_hosts=str(impostor.known_hosts)).connect()
    assert failed.value.status == "auth_failed"
    assert failed.value.reason == "host key not verified against %s" % impostor.known_hosts


def test_a_command_without_answer_is_a_timeout(device):
    with driver(device, command_timeout=1.0) as phone:
        with pytest.raises(DeviceError) as failed:
            phone.run("sleep 5")
    assert failed.value.status == "timeout"
    assert failed.value.reason == "no answer to a command within 1s (ReadTimeout)"


def connect_and_read(device):
    started = time.monotonic()
    with driver(device) as phone:
        state = phone.read()
    return state, time.monotonic() - started


def test_ten_devices_read_sequentially_and_in_a_pool_of_ten(tmp_path):
    """Every device answers with its own state (odd ones have hot-desking off), whichever way they are read.
    The timings are printed for the report (pytest -s)."""
    with DeviceFleet(10) as fleet:
        for number, device in enumerate(fleet.devices):
            if number % 2:
                with driver(device) as phone:
                    phone.write(hotdesking=False)
        expected = [number % 2 == 0 for number in range(10)]

        started = time.monotonic()
        sequential = [connect_and_read(device) for device in fleet.devices]
        sequential_seconds = time.monotonic() - started
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=10) as pool:
            pooled = list(pool.map(connect_and_read, fleet.devices))
        pooled_seconds = time.monotonic() - started

    assert [state.hotdesking for state, _seconds in sequential] == expected
    assert [state.hotdesking for state, _seconds in pooled] == expected
    per_device = sorted(seconds for _state, seconds in sequential)
    print("\nfleet timing: connect+read per device median %.3fs (min %.3fs, max %.3fs); 10 devices sequential "
          "%.2fs, ThreadPoolExecutor(10) %.2fs"
          % (per_device[5], per_device[0], per_device[-1], sequential_seconds, pooled_seconds))
