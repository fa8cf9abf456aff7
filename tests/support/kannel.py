# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the real Kannel with the role's own config template (roles/sms_gateway).

    with KannelServer(workdir) as kannel:
        kannel.gateway_url          # kannel://switchboard@127.0.0.1:PORT?smsc=FAKE
        kannel.password             # the sendsms password (what the vault would hold)
        kannel.wait_received(1)     # [Received(sender, to, text, kind)] as the phone side got them

bearerbox, then Kannel's fakesmsc (kannel-extras: the "phone network", it connects to bearerbox's
fake SMSC link and logs every message it gets), then smsbox (the HTTP sendsms door), each on free
loopback ports. Stopped by PID: smsbox SIGTERM, bearerbox through its admin /shutdown, fakesmsc SIGTERM.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from collections import namedtuple
from pathlib import Path

import jinja2
import yaml

from .ports import free_port, wait_tcp

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "sms_gateway"
TEMPLATE = ROLE / "templates" / "kannel.conf.j2"
BEARERBOX = "/usr/sbin/bearerbox"
SMSBOX = "/usr/sbin/smsbox"
FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
SMSC_ID = "FAKE"

# fakesmsc logs each message it receives: `Got message 3: <SENDER RECEIVER TYPE DATA>`
RECEIVED_LINE = re.compile(r"Got message \d+: <(\S*) (\S+) (\S+) (.*)>$")
Received = namedtuple("Received", "sender to text kind")


def available():
    return all(os.access(path, os.X_OK) for path in (BEARERBOX, SMSBOX, FAKESMSC))


def render_config(**overrides):
    """The kannel.conf text the role would write (Ansible's template defaults: trim_blocks)."""
    values = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    values.update(overrides)
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True)
    return env.from_string(TEMPLATE.read_text()).render(**values)


def decode_received(kind, data):
    """fakesmsc's line format (gw/smsc/smsc_fake.c): text as is, ucs-2 and data URL-encoded."""
    if kind == "ucs-2":
        return urllib.parse.unquote_to_bytes(data.replace("+", " ")).decode("utf-16-be")
    if kind == "data":
        return urllib.parse.unquote_to_bytes(data.replace("+", " ")).decode("latin-1")
    return data


class KannelServer:
    """bearerbox + fakesmsc + smsbox on free loopback ports, state and logs under `workdir`."""

    def __init__(self, workdir, username="switchboard", password=None, sender="Switchboard"):
        self.dir = Path(workdir)
        self.username = username
        self.password = password or secrets.token_urlsafe(12)
        self.admin_password = secrets.token_urlsafe(12)
        self.sender = sender
        self.admin_port = self.box_port = self.sendsms_port = self.smsc_port = None
        self.procs = {}
        self.config_path = self.dir / "kannel.conf"
        self.fakesmsc_log = self.dir / "fakesmsc.log"

    @property
    def gateway_url(self):
        return "kannel://%s@127.0.0.1:%d?smsc=%s" % (self.username, self.sendsms_port, SMSC_ID)

    def render(self):
        for sub in ("dlr", "store", "log"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        if self.admin_port is None:
            self.admin_port, self.box_port, self.sendsms_port, self.smsc_port = (
                free_port("127.0.0.1", ("tcp",)) for _port in range(4))
        smsc = {"smsc": "fake", "smsc-id": SMSC_ID, "allowed-smsc-id": SMSC_ID, "our-host": "127.0.0.1",
                "port": self.smsc_port, "connect-allow-ip": "127.0.0.1"}
        self.config_path.write_text(render_config(
            sms_gateway_admin_port=self.admin_port, sms_gateway_admin_password=self.admin_password,
            sms_gateway_box_port=self.box_port, sms_gateway_sendsms_port=self.sendsms_port,
            sms_gateway_sendsms_username=self.username, sms_gateway_sendsms_password=self.password,
            sms_gateway_sender=self.sender, sms_gateway_smscs=[smsc],
            sms_gateway_spool_dir=str(self.dir), sms_gateway_log_dir=str(self.dir / "log")))
        os.chmod(self.config_path, 0o600)
        return self.config_path

    # -- processes --------------------------------------------------------------------------

    def _spawn(self, name, command):
        with open(self.dir / ("%s.out" % name), "ab") as out:
            self.procs[name] = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                cwd=self.dir, start_new_session=True)

    def alive(self, name):
        proc = self.procs.get(name)
        return proc is not None and proc.poll() is None

    def start(self, timeout=15.0):
        self.render()
        self.start_bearerbox(timeout)
        self.start_fakesmsc(timeout)
        self.start_smsbox(timeout)
        return self

    def start_bearerbox(self, timeout=15.0):
        self._spawn("bearerbox", [BEARERBOX, "-v", "1", str(self.config_path)])
        self._ready("bearerbox", lambda: wait_tcp("127.0.0.1", self.admin_port, 0.2), timeout)

    def start_fakesmsc(self, timeout=15.0):
        # -m 0: generate no message of its own, only receive; one dummy message is required by its usage
        with open(self.fakesmsc_log, "ab") as log:
            self.procs["fakesmsc"] = subprocess.Popen(
                [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.smsc_port), "-m", "0", "0 0 text unused"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir, start_new_session=True)
        self._ready("fakesmsc", lambda: "online" in self._smsc_status(), timeout)

    def start_smsbox(self, timeout=15.0):
        self._spawn("smsbox", [SMSBOX, "-v", "2", str(self.config_path)])  # as the role: no SMS text on its console
        self._ready("smsbox", lambda: wait_tcp("127.0.0.1", self.sendsms_port, 0.2), timeout)

    def _ready(self, name, check, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive(name):
            if check():
                return
            time.sleep(0.05)
        output = self.log(name)
        self.stop()
        raise RuntimeError("Kannel's %s did not become ready in %.0fs:\n%s" % (name, timeout, output[-3000:]))

    def status(self):
        """bearerbox's admin status page (text)."""
        url = "http://127.0.0.1:%d/status.txt?password=%s" % (self.admin_port, urllib.parse.quote(self.admin_password))
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                return answer.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def _smsc_status(self):
        return "\n".join(line for line in self.status().splitlines() if SMSC_ID in line)

    def stop(self, timeout=10.0):
        self.stop_smsbox(timeout)
        self.stop_bearerbox(timeout)
        self._stop_pid("fakesmsc", signal.SIGTERM, timeout)  # it usually left with bearerbox's link

    def stop_smsbox(self, timeout=10.0):
        self._stop_pid("smsbox", signal.SIGTERM, timeout)

    def stop_bearerbox(self, timeout=10.0):
        if self.alive("bearerbox"):
            url = "http://127.0.0.1:%d/shutdown?password=%s" % (self.admin_port, urllib.parse.quote(self.admin_password))
            try:
                urllib.request.urlopen(url, timeout=2).read()
            except OSError:
                pass  # _stop_pid below signals it
        self._stop_pid("bearerbox", signal.SIGTERM, timeout)

    def _stop_pid(self, name, sig, timeout):
        proc = self.procs.get(name)
        if proc is None:
            return
        try:
            proc.wait(timeout if name == "bearerbox" else 0)
        except subprocess.TimeoutExpired:
            pass
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- what the phone side got ------------------------------------------------------------

    def log(self, name):
        path = self.fakesmsc_log if name == "fakesmsc" else self.dir / ("%s.out" % name)
        try:
            return path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def logs(self):
        """Every log Kannel and fakesmsc wrote (to grep for secrets)."""
        return "\n".join([self.gateway_logs(), self.log("fakesmsc")])

    def gateway_logs(self):
        """What the gateway itself (bearerbox, smsbox) wrote; fakesmsc stands for the phones, which get the texts."""
        texts = [self.log(name) for name in ("bearerbox", "smsbox")]
        texts += [path.read_text("utf-8", "replace") for path in sorted((self.dir / "log").glob("*.log"))]
        return "\n".join(texts)

    def received(self):
        """Every message fakesmsc got, in order."""
        messages = []
        for line in self.log("fakesmsc").splitlines():
            match = RECEIVED_LINE.search(line)
            if match:
                sender, to, kind, data = match.groups()
                messages.append(Received(sender, to, decode_received(kind, data), kind))
        return messages

    def wait_received(self, count, timeout=10.0, settle=0.3):
        """At least `count` messages, then `settle` seconds more so that an extra one would show."""
        deadline = time.monotonic() + timeout
        while len(self.received()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(settle)
        return self.received()
