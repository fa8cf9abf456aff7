# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab end to end, as `make lab` and the operator run it, on free addresses so it never meets a running lab:
a copy of inventories/lab (its group_vars, its declared devices, its fleet inventory plugin file), Kamailio started
by playbooks/lab.yml, the declared devices started by scripts/lab_devices.py (the lab's own code, shared with the
fixtures), then `ansible-playbook -i inventories/lab playbooks/site.yml`: each bound desk account is registered on
Kamailio FROM its device's address, a second run changes nothing, and the devices stop by PID."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from support import devices as device_support
from support.kamailio import rpc
from support.ports import free_port

if not device_support.available():
    pytest.fail("openssh-server is not installed (make test installs it)", pytrace=False)

LAB_DEVICES = [REPO / "scripts" / "lab_devices.py"]


class Lab:
    """tmp/inventories/lab (a copy) and tmp/var/lab (what the lab runs), as in a checkout."""

    def __init__(self, root):
        self.root = root
        self.inventory = root / "inventories" / "lab"
        shutil.copytree(REPO / "inventories" / "lab", self.inventory)
        self.var = root / "var" / "lab"
        self.state_file = self.inventory / "state" / "lab.yml"
        self.addresses = self.move_devices()
        self.sip_port, self.rpc_port = free_port("127.0.0.1", ("udp", "tcp")), free_port("127.0.0.1", ("tcp",))
        self.provisioning_port = free_port("127.0.0.1", ("tcp",))
        self.kannel_ports = dict(zip(("sms_gateway_admin_port", "sms_gateway_box_port", "sms_gateway_sendsms_port",
                                      "switchboard_lab_fakesmsc_port"), (free_port("127.0.0.1", ("tcp",)) for _n in range(4))))
        self.outputs = []

    def move_devices(self):
        """Every declared device onto a free loopback address and port (the lab's own 127.0.0.21-23 may be in use)."""
        state = yaml.safe_load(self.state_file.read_text())
        addresses = {}
        for device in state["devices"]:
            device["ip"], device["port"] = device_support._next_address()
            addresses[device["name"]] = device["ip"]
        self.state_file.write_text(yaml.safe_dump(state, sort_keys=False))
        return addresses

    def env(self):
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(REPO / "build"),
                   ANSIBLE_NOCOLOR="1", ANSIBLE_STDOUT_CALLBACK="default", ANSIBLE_HOME=str(self.root / "ansible-home"),
                   ANSIBLE_LOCAL_TEMP=str(self.root / "ansible-tmp"))
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
        return env

    def playbook(self, name, **more):
        # the lab's fixed ports are the only thing overridden: everything else is the lab inventory's own
        variables = {"kamailio_sip_port": self.sip_port, "kamailio_rpc_port": self.rpc_port,
                     "provisioning_listen": "127.0.0.1:%d" % self.provisioning_port, "switchboard_fleet_sip_port": 0,
                     **self.kannel_ports, **more}
        done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(self.inventory),
                               str(REPO / "playbooks" / name), "-e", json.dumps(variables)],
                              cwd=self.root, env=self.env(), capture_output=True, text=True, timeout=300, check=False)
        self.outputs.append(done.stdout + done.stderr)
        assert done.returncode == 0, self.outputs[-1]
        return done.stdout

    def devices(self, *command):
        done = subprocess.run([sys.executable] + LAB_DEVICES + list(command), env=self.env(), capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def sshd_pids(self):
        return {path.parent.name: int(path.read_text()) for path in (self.var / "devices").glob("*/sshd.pid")}

    def stop_servers(self):
        """Kamailio, the provisioning service and Kannel that lab.yml started, by PID."""
        for pid_file in [self.var / "kamailio" / "kamailio.pid", self.var / "provisioning" / "provisioning.pid"] + sorted(
                (self.var / "kannel" / "run").glob("*.pid")):
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text()), signal.SIGTERM)
                except ProcessLookupError:
                    pass


@pytest.fixture
def lab():
    # not below pytest's tmp_path: its parents are 0700, and sshd reads authorized_keys as the device user
    root = Path(tempfile.mkdtemp(prefix="sb-lab-"))
    root.chmod(0o711)
    started = Lab(root)
    yield started
    if (started.var / "devices").exists():
        started.devices("down", str(started.var))
    started.stop_servers()
    shutil.rmtree(root, ignore_errors=True)


def registered_sources(lab, until, timeout=10.0):
    """username -> sorted source IPs of its contacts on the lab's Kamailio, once `until(them)` holds (or at timeout)."""
    client = rpc.KamailioRpc("http://127.0.0.1:%d/RPC" % lab.rpc_port, timeout=5)
    deadline = time.monotonic() + timeout
    while True:
        found = {}
        for contact in client.registered_contacts():
            found.setdefault(contact["username"], []).append(contact["source"].rpartition(":")[0])
        found = {username: sorted(sources) for username, sources in found.items()}
        if until(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def recap(output):
    return [line.split(None, 1)[1].strip() for line in output.splitlines() if line.startswith("pbx ") and "ok=" in line][0]


def test_lab_devices_provisioned_by_the_site_playbook_register_from_their_own_addresses(lab):
    lab.playbook("lab.yml")
    started = lab.devices("up", str(lab.inventory / "state"), str(lab.var))
    for name in ("lab-desk-1", "lab-desk-2", "lab-desk-3"):
        assert "lab: device %s started: ssh sbdevice@%s -p " % (name, lab.addresses[name]) in started
    known_hosts = (lab.var / "fleet" / "known_hosts").read_text().splitlines()
    assert [line.split("]")[0] for line in known_hosts] == ["[%s" % lab.addresses[n] for n in sorted(lab.addresses)]
    assert oct((lab.var / "fleet" / "fleet_key").stat().st_mode & 0o777) == "0o600"

    output = lab.playbook("site.yml")
    assert "TASK [Read every device over SSH, write only what differs, verify the registrations]" in output
    assert "3 devices: 2 changed and 1 unchanged" in output and "{'" not in output, output
    assert registered_sources(lab, until=lambda found: len(found) == 2) == {"1001": [lab.addresses["lab-desk-1"]], "1003": [lab.addresses["lab-desk-2"]]}
    desk_3 = lab.var / "devices" / "lab-desk-3" / "home" / ".baresip"
    assert not (desk_3 / "accounts").exists() and not (desk_3 / "switchboard-hotdesking").exists()  # free: hot-desking on
    assert (lab.var / "devices" / "lab-desk-1" / "home" / ".baresip" / "switchboard-hotdesking").read_text().strip() == "off"

    again = lab.playbook("site.yml")
    assert "3 devices: 3 unchanged" in again, again
    assert "changed=0" in recap(again), again
    assert "Lab-Desk-1001" not in "".join(lab.outputs) and "Lab-Desk-1003" not in "".join(lab.outputs)

    pids = lab.sshd_pids()
    assert sorted(pids) == ["lab-desk-1", "lab-desk-2", "lab-desk-3"]
    stopped = lab.devices("down", str(lab.var))
    for name, pid in pids.items():
        assert "lab: device %s stopped (sshd pid %d)" % (name, pid) in stopped
        assert not Path("/proc/%d" % pid).exists() or Path("/proc/%d/stat" % pid).read_text().split()[2] == "Z"
    assert registered_sources(lab, until=lambda found: not found) == {}  # the phones unregistered when they were stopped


def lab_script(lab, *command):
    """scripts/lab on this lab copy (SWITCHBOARD_LAB_DIR), as `make lab-down` runs it."""
    done = subprocess.run([str(REPO / "scripts" / "lab")] + list(command), env=dict(lab.env(), SWITCHBOARD_LAB_DIR=str(lab.var)),
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_lab_kannel_carries_the_wizard_sms_and_lab_down_stops_it_by_pid(lab):
    wizard = "+393470009001"
    state = yaml.safe_load(lab.state_file.read_text())
    state["provisioning_profiles"] = [{"name": "lab-app", "base_url": "http://127.0.0.1:%d" % lab.provisioning_port}]
    state["accounts"].append({"number": wizard, "group": "lab", "type": "pgsm", "activation": "wizard",
                              "provisioning_profile": "lab-app"})
    lab.state_file.write_text(yaml.safe_dump(state, sort_keys=False))

    up = lab.playbook("lab.yml")
    assert "SMS gateway: kannel://switchboard@127.0.0.1:%d?smsc=FAKE" % lab.kannel_ports["sms_gateway_sendsms_port"] in up
    run_dir = lab.var / "kannel" / "run"
    pids = {path.stem: int(path.read_text()) for path in run_dir.glob("*.pid")}
    fakesmsc = "fakesmsc-%d" % lab.kannel_ports["switchboard_lab_fakesmsc_port"]
    assert sorted(pids) == ["bearerbox", fakesmsc, "smsbox"]
    password_file = lab.var / "kannel" / "sendsms.password"
    assert oct(password_file.stat().st_mode & 0o777) == "0o600"
    assert "changed=0" in recap(lab.playbook("lab.yml"))  # running, same configuration: left alone
    assert {path.stem: int(path.read_text()) for path in run_dir.glob("*.pid")} == pids

    applied = lab.playbook("site.yml", switchboard_fleet_enabled=False)
    assert "sent installation SMS to +393470009001 (393470009001.installation.1)" in applied
    log = lab.var / "kannel" / "log" / ("%s.log" % fakesmsc)
    deadline = time.monotonic() + 10
    while "Got message" not in log.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)
    got = [line for line in log.read_text().splitlines() if "Got message" in line]
    assert len(got) == 1 and " %s text " % wizard in got[0], got
    assert "http://127.0.0.1:%d/i/" % lab.provisioning_port in got[0]
    assert "changed=0" in recap(lab.playbook("site.yml", switchboard_fleet_enabled=False))
    assert len([line for line in log.read_text().splitlines() if "Got message" in line]) == 1
    assert password_file.read_text().strip() not in "".join(lab.outputs)

    assert "lab: Kannel smsbox running (pid %d)" % pids["smsbox"] in lab_script(lab, "status")
    stopped = lab_script(lab, "down")
    assert "lab: Kannel smsbox stopped (pid %d)\nlab: Kannel bearerbox stopped (pid %d)\n" % (
        pids["smsbox"], pids["bearerbox"]) in stopped
    for name in ("smsbox", "bearerbox", fakesmsc):  # fakesmsc usually leaves with bearerbox's link
        assert not Path("/proc/%d" % pids[name]).exists() or Path("/proc/%d/stat" % pids[name]).read_text().split()[2] == "Z"
    assert "lab: Kamailio stopped" in stopped and "lab: provisioning service stopped" in stopped
    assert not list(run_dir.glob("*.pid"))
