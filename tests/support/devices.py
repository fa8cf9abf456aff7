# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real test devices: one OpenSSH `sshd` per device on its own loopback address.

    with SshDevice() as device:
        device.ip, device.port, device.username, device.key_file, device.known_hosts
        device.sip_port          # a free UDP port on device.ip for the device's phone

Each device has, in its own temp dir: an ed25519 host key, an sshd_config, a client key
(ed25519) whose public half is the only authorised key, a known_hosts naming the host key
(so clients verify it: no AutoAddPolicy), and the device user's home.

The device user. Tests run as root; the devices log in as one dedicated system user,
`sbdevice` (created once if missing, idempotent), never as root: a phone's provisioning
account is unprivileged, so a driver bug cannot touch root's files and the tests prove the
driver needs no root. One user serves every device: each sshd gives its sessions their own
HOME (sshd_config `SetEnv HOME=...`), so every device has its own home, phone config,
PID files and `.inputrc` (bash's bracketed paste off, which netmiko needs), exactly as
separate hosts would. sshd and the device's own processes are stopped by PID.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from .ports import free_port, wait_tcp

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"
DEVICE_USER = "sbdevice"
DEVICE_USER_HOME = "/var/lib/sbdevice"  # only a landing place: each sshd sets its own HOME
FIRST_DEVICE_OCTET = 10  # 127.0.0.2-9 are the SIP client tests' source addresses
_next_octet = [FIRST_DEVICE_OCTET]


def available():
    return os.path.exists(SSHD) and shutil.which("useradd") is not None


def ensure_device_user():
    """The `sbdevice` system user: bash as shell, no password (`*`: never usable, yet not
    locked, which sshd without PAM would refuse even for a key). Idempotent, and safe when
    another test process creates it at the same moment."""
    try:
        return pwd.getpwnam(DEVICE_USER)
    except KeyError:
        pass
    subprocess.run(["useradd", "--system", "--home-dir", DEVICE_USER_HOME, "--create-home", "--shell", "/bin/bash",
                    "--password", "*", DEVICE_USER], check=False, capture_output=True, timeout=30)
    return pwd.getpwnam(DEVICE_USER)  # raises KeyError if useradd failed for another reason


def _next_address(port_kinds=("tcp",)):
    """127.0.0.x (x >= 10) with a free port on it, cycling through the range."""
    for _attempt in range(245):
        octet = _next_octet[0]
        _next_octet[0] = FIRST_DEVICE_OCTET + (octet - FIRST_DEVICE_OCTET + 1) % (255 - FIRST_DEVICE_OCTET)
        ip = "127.0.0.%d" % octet
        try:
            return ip, free_port(ip, port_kinds)
        except RuntimeError:
            continue
    raise RuntimeError("no free loopback address in 127.0.0.%d-254" % FIRST_DEVICE_OCTET)


def keygen(path, comment):
    """An ed25519 key pair as ssh-keygen writes it (`path` 0600, `path`.pub), made in-process: a fleet of
    100 devices needs 200 keys, and ssh-keygen's process start is most of its cost."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    path = Path(path)
    path.touch(mode=0o600)
    path.write_bytes(private)
    Path(str(path) + ".pub").write_bytes(public + b" " + comment.encode() + b"\n")
    return path


def process_homes():
    """pid -> HOME of every process that has one (root may read any /proc/PID/environ)."""
    homes = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            environ = Path("/proc", entry, "environ").read_bytes()
        except OSError:
            continue
        for variable in environ.split(b"\0"):
            if variable.startswith(b"HOME="):
                homes[int(entry)] = variable[5:].decode("utf-8", "replace")
    return homes


class SshDevice:
    """One device: sshd on ip:port, user `sbdevice` with its own HOME, a client key."""

    def __init__(self, ip=None, port=None, parent_dir=None, directory=None):
        """directory: where the device keeps its files (the lab's var/lab/devices/NAME); default a new temp dir."""
        self.ip, self.port = (ip, port) if ip and port else _next_address()
        self.sip_port = free_port(self.ip, ("udp", "tcp"))
        if directory:
            Path(directory).mkdir(parents=True)
        self.dir = Path(directory or tempfile.mkdtemp(prefix="sb-device-%s-%d-" % (self.ip, self.port), dir=parent_dir))
        self.home = self.dir / "home"
        self.username = DEVICE_USER
        self.host_key = self.dir / "ssh_host_ed25519_key"
        self.key_file = self.dir / "client_ed25519_key"
        self.known_hosts = self.dir / "known_hosts"
        self.config_path = self.dir / "sshd_config"
        self.log_path = self.dir / "sshd.log"
        self.proc = None
        self.start_seconds = self._launched = None

    @property
    def address(self):
        return "%s:%d" % (self.ip, self.port)

    def prepare(self):
        """Keys, config, known_hosts and the home; nothing runs yet."""
        user = ensure_device_user()
        os.chmod(self.dir, 0o711)  # the device user reaches its home, reads nothing else here
        keygen(self.host_key, "device %s" % self.address)
        keygen(self.key_file, "switchboard@test")
        (self.dir / "authorized_keys").write_text(Path(str(self.key_file) + ".pub").read_text())
        self.known_hosts.write_text(self.known_hosts_line())
        self.home.mkdir()
        (self.home / ".inputrc").write_text("set enable-bracketed-paste off\n")
        (self.home / ".bash_profile").write_text('cd "$HOME"\n')  # sshd starts sessions in the passwd home
        for path in (self.home, self.home / ".inputrc", self.home / ".bash_profile"):
            os.chown(path, user.pw_uid, user.pw_gid)
        self.config_path.write_text(self.sshd_config())
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory

    def known_hosts_line(self):
        key_type, key = Path(str(self.host_key) + ".pub").read_text().split()[:2]
        return "[%s]:%d %s %s\n" % (self.ip, self.port, key_type, key)

    def sshd_config(self):
        return "\n".join([
            "ListenAddress %s:%d" % (self.ip, self.port),
            "HostKey %s" % self.host_key,
            "PidFile %s" % (self.dir / "sshd.pid"),
            "AuthorizedKeysFile %s" % (self.dir / "authorized_keys"),
            "AuthenticationMethods publickey",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin no",
            "AllowUsers %s" % DEVICE_USER,
            "UsePAM no",
            # the fixture's files live below /tmp (mode 1777), which StrictModes' path check refuses;
            # the fixture writes them itself, root-owned, keys 0600
            "StrictModes no",
            "SetEnv HOME=%s" % self.home,
            "Subsystem sftp internal-sftp",
            "UseDNS no",
            "PrintMotd no",
            "PrintLastLog no",
            "X11Forwarding no",
            "LogLevel ERROR",
            ""])

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=10.0):
        return self.launch().wait_ready(timeout)

    def launch(self):
        """Start sshd without waiting for it (a fleet launches all its devices, then waits)."""
        if not self.config_path.exists():
            self.prepare()
        self._launched = time.monotonic()
        # -D: no daemon, so the Popen PID is sshd's own; -e -E: its log in the device dir
        self.proc = subprocess.Popen([SSHD, "-D", "-e", "-E", str(self.log_path), "-f", str(self.config_path)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        return self

    def wait_ready(self, timeout=10.0):
        if not wait_tcp(self.ip, self.port, timeout, alive=self.alive):
            self.stop()
            raise RuntimeError("sshd did not listen on %s in %.1fs:\n%s" % (self.address, timeout, self.log()))
        self.start_seconds = time.monotonic() - self._launched
        return self

    def log(self):
        try:
            return self.log_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def device_pids(self):
        """The processes running on this device: sshd sessions and what they started (HOME is the device's)."""
        return device_pids([self])

    def stop(self, timeout=5.0):
        stop_devices([self], timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def device_pids(devices):
    homes = {str(device.home) for device in devices}
    return sorted(pid for pid, home in process_homes().items() if home in homes)


def stop_devices(devices, timeout=5.0):
    """Each device's own processes (its phone), then its sshd, all by PID; their temp dirs go too.
    Everything is signalled first and waited for after, so a fleet stops in about the time of one."""
    for pid in device_pids(devices):
        _signal(pid, signal.SIGTERM)
    running = [device.proc for device in devices if device.proc is not None and device.proc.poll() is None]
    for proc in running:
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in running:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    while device_pids(devices) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in device_pids(devices):
        _signal(pid, signal.SIGKILL)
    for device in devices:
        device.proc = None
        shutil.rmtree(device.dir, ignore_errors=True)


def _signal(pid, signum):
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


class DeviceFleet:
    """N devices started together, stopped together (each by its PID)."""

    def __init__(self, count, parent_dir=None):
        self.devices = [SshDevice(parent_dir=parent_dir) for _number in range(count)]

    def start(self):
        try:
            for device in self.devices:
                device.launch()
            for device in self.devices:
                device.wait_ready()
        except Exception:
            self.stop()
            raise
        return self

    def stop(self):
        stop_devices(self.devices)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
