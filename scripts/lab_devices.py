# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The lab's phones: one real device (OpenSSH sshd, key-only, user `sbdevice`, baresip as its phone) per device
that the lab's declared state names, started by the same code as the test fixtures (tests/support/devices.py).

    lab_devices.py up STATE_DIR LAB_DIR     start every declared linux_baresip device on a loopback address
    lab_devices.py down LAB_DIR             stop them (their phones, then their sshd), by PID
    lab_devices.py status LAB_DIR

LAB_DIR/devices/NAME/   the device: host key, sshd_config, sshd.pid, sshd.log, home/ (its phone's files)
LAB_DIR/fleet/          the controller's side: fleet_key (the one key every device accepts), known_hosts
                        (every device's host key, so the fleet verifies them: no AutoAddPolicy)
A device already running keeps its keys and phone; one that is not is started from a fresh directory.
"""

import os
import pathlib
import shutil
import signal
import sys
import time
import types

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "build"), str(REPO / "tests")]

from ansible_collections.switchboard.pbx.plugins.module_utils import declared as declared_state  # noqa: E402
from support.devices import DEVICE_USER, SshDevice, available, device_pids, keygen  # noqa: E402

PLATFORM = "linux_baresip"
SSH_PORT = 22  # a device's default, as on a real phone


def say(message):
    print("lab: %s" % message, flush=True)


def declared_devices(state_dir):
    """name -> (ip, port) of every declared linux_baresip device on loopback (the engine's own loader reads them)."""
    declared, _warnings = declared_state.load(str(state_dir))
    found = {}
    for name, device in sorted(declared.objects("devices").items()):
        if device["platform"] == PLATFORM and device["ip"].startswith("127."):
            found[name] = (device["ip"], device.get("port") or SSH_PORT)
    return found


def running_pid(directory):
    """The device's sshd PID if it runs (checked against its own config, so a reused PID is never signalled)."""
    try:
        pid = int((directory / "sshd.pid").read_text())
        command = pathlib.Path("/proc/%d/cmdline" % pid).read_bytes()
    except (OSError, ValueError):
        return None
    return pid if str(directory / "sshd_config").encode() in command else None


def fleet_key(lab_dir):
    key = lab_dir / "fleet" / "fleet_key"
    if not key.exists():
        key.parent.mkdir(parents=True, exist_ok=True)
        keygen(key, "switchboard@lab")
    return key


def start_device(directory, ip, port, key):
    shutil.rmtree(directory, ignore_errors=True)
    device = SshDevice(ip, port, directory=str(directory))
    device.prepare()
    (device.dir / "authorized_keys").write_text(pathlib.Path(str(key) + ".pub").read_text())
    device.start()
    (device.dir / "sshd.pid").write_text("%d\n" % device.proc.pid)
    return device


def host_key_line(directory, ip, port):
    key_type, key = (directory / "ssh_host_ed25519_key.pub").read_text().split()[:2]
    return "[%s]:%d %s %s\n" % (ip, port, key_type, key)


def up(state_dir, lab_dir):
    if not available():
        raise SystemExit("lab: error: openssh-server is not installed (make lab installs it)")
    devices = declared_devices(state_dir)
    key = fleet_key(lab_dir)
    known_hosts = []
    for name, (ip, port) in devices.items():
        directory = lab_dir / "devices" / name
        pid = running_pid(directory)
        if pid:
            say("device %s already running on %s:%d (sshd pid %d)" % (name, ip, port, pid))
        else:
            device = start_device(directory, ip, port, key)
            say("device %s started: ssh %s@%s -p %d (sshd pid %d)" % (name, DEVICE_USER, ip, port, device.proc.pid))
        known_hosts.append(host_key_line(directory, ip, port))
    (lab_dir / "fleet" / "known_hosts").write_text("".join(known_hosts))
    for stale in sorted(set(lab_device_dirs(lab_dir)) - {lab_dir / "devices" / name for name in devices}):
        stop(stale)  # no longer declared


def lab_device_dirs(lab_dir):
    return sorted(path for path in (lab_dir / "devices").glob("*") if path.is_dir())


def stop(directory, timeout=5.0):
    """The device's phone (every process whose HOME is the device's), then its sshd; TERM first, KILL late."""
    device = types.SimpleNamespace(home=directory / "home")
    pid = running_pid(directory)
    for process in device_pids([device]) + ([pid] if pid else []):
        _signal(process, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while (device_pids([device]) or running_pid(directory) and _alive(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    for process in device_pids([device]) + ([pid] if pid and _alive(pid) else []):
        _signal(process, signal.SIGKILL)
    shutil.rmtree(directory, ignore_errors=True)
    say("device %s stopped%s" % (directory.name, " (sshd pid %d)" % pid if pid else ""))


def _alive(pid):
    try:
        return pathlib.Path("/proc/%d/stat" % pid).read_text().split()[2] != "Z"
    except OSError:
        return False


def _signal(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def down(lab_dir):
    for directory in lab_device_dirs(lab_dir):
        stop(directory)


def status(lab_dir):
    for directory in lab_device_dirs(lab_dir):
        pid = running_pid(directory)
        say("device %s %s" % (directory.name, "running (sshd pid %d)" % pid if pid else "not running"))


def main(argv):
    usage = "usage: lab_devices.py up STATE_DIR LAB_DIR | down LAB_DIR | status LAB_DIR"
    if len(argv) == 3 and argv[0] == "up":
        up(pathlib.Path(argv[1]), pathlib.Path(argv[2]).resolve())
    elif len(argv) == 2 and argv[0] in ("down", "status"):
        {"down": down, "status": status}[argv[0]](pathlib.Path(argv[1]).resolve())
    else:
        raise SystemExit(usage)


if __name__ == "__main__":
    main(sys.argv[1:])
