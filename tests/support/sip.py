# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real SIP clients for tests: sipsak (REGISTER, OPTIONS) and baresip (a UA
that stays registered and answers). IP addresses only; every client binds a
chosen 127.0.0.x source address, which Linux loopback accepts without setup."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
import wave
from collections import namedtuple
from pathlib import Path

from .ports import free_port

SIPSAK = shutil.which("sipsak") or "/usr/bin/sipsak"
BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
STDBUF = shutil.which("stdbuf")

Reply = namedtuple("Reply", "code reason output")

_STATUS = re.compile(r"^SIP/2\.0 (\d{3}) ?(.*?)\s*$", re.M)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def parse_final_status(output):
    """The last final (non-1xx) status line sipsak printed: (code, reason) or (None, '')."""
    finals = [(int(c), r) for c, r in _STATUS.findall(output) if not c.startswith("1")]
    return finals[-1] if finals else (None, "")


def _sipsak(args, timeout):
    cmd = ([STDBUF, "-o0", "-e0"] if STDBUF else []) + [SIPSAK] + args + ["-vvv"]
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                              timeout=timeout, check=False)
        output = proc.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as exc:
        output = (exc.output or b"").decode("utf-8", "replace") + "\n[sipsak timed out]"
    code, reason = parse_final_status(output)
    return Reply(code, reason, output)


def sipsak_register(server_ip, server_port, username, password, local_ip="127.0.0.1", expires=300,
                    local_port=None, timeout=10.0):
    """REGISTER username@server_ip with digest auth from local_ip; Reply(code, reason, output).
    The digest username is always given (-u): sipsak's default one is wrong."""
    args = ["-U", "-s", "sip:%s@%s:%d" % (username, server_ip, server_port),
            "-a", password, "-u", username, "--local-ip", local_ip, "-H", local_ip,
            "-x", str(expires), "-i"]
    if local_port:
        args += ["-l", str(local_port), "--symmetric"]
    return _sipsak(args, timeout)


def sip_options(server_ip, server_port, target, local_ip="127.0.0.1", from_user=None, password=None,
                domain=None, timeout=15.0, auth_user=None, display=None, headers=(), method="OPTIONS"):
    """OPTIONS sip:target@server (target None: the server itself); Reply(code, reason, output).

    With from_user/password the request comes From an account (sip:from_user@domain) and
    answers the proxy challenge, as a calling client would: as auth_user when given (a From
    that is not the digest user), with a From display name and extra header lines.
    method="INVITE" sends an INVITE the same way (the far end's final reply ends it)."""
    ruri = "sip:%s@%s:%d" % (target, server_ip, server_port) if target else "sip:%s:%d" % (server_ip, server_port)
    args = ["-s", ruri, "--local-ip", local_ip, "-H", local_ip]
    if from_user is None:
        return _sipsak(args, timeout)
    domain = domain or server_ip
    message = "\r\n".join([
        "%s %s SIP/2.0" % (method, ruri),
        "From: %s<sip:%s@%s>;tag=%s" % ('"%s" ' % display if display else "", from_user, domain, uuid.uuid4().hex[:10]),
        "To: <%s>" % ruri,
        "Call-ID: %s@%s" % (uuid.uuid4().hex, local_ip),
        "CSeq: 1 %s" % method,
        "Contact: <sip:%s@%s>" % (from_user, local_ip),
        "Max-Forwards: 70"] + list(headers) + [
        "Content-Length: 0",
        "", ""])
    fd, path = tempfile.mkstemp(prefix="sb-sipsak-", suffix=".sip")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(message)
        return _sipsak(["-f", path] + args + ["-a", password or "", "-u", auth_user or from_user], timeout)
    finally:
        os.unlink(path)


class Baresip:
    """A headless baresip registered as one account from local_ip:port.

    Answers OPTIONS itself and INVITEs (answermode=auto, 1 s of silence as audio);
    with `dial` it calls that number at start-up. Start/stop by PID.
    """

    _OK = re.compile(r"\{\d+/(?:UDP|TCP|TLS)/v[46]\} (\d{3}) ([^(\n]*)")
    _FAIL = re.compile(r"reg: \S+: (\d{3}) ([^(\n]*)")
    _ESTABLISHED = re.compile(r"Call established")
    _CLOSED = re.compile(r"session closed: (\d{3}) ([^\n]*)")

    def __init__(self, workdir, server_ip, server_port, username, password, local_ip="127.0.0.2",
                 domain=None, local_port=None, regint=300, dial=None):
        self.dir = Path(workdir)
        self.server_ip, self.server_port = server_ip, server_port
        self.username, self.password = username, password
        self.local_ip = local_ip
        self.domain = domain or server_ip
        self.local_port = local_port or free_port(local_ip, ("udp", "tcp"))
        self.regint = regint
        self.dial = dial  # a number/user to call at start-up (baresip -e "/dial ...")
        self.proc = None
        self.log_path = self.dir / "baresip.log"

    def _write_config(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "config").write_text("\n".join([
            "poll_method\t\tepoll",
            "sip_listen\t\t%s:%d" % (self.local_ip, self.local_port),
            "net_interface\t\t%s" % self.local_ip,
            "sip_trans_def\t\tudp",
            "module_path\t\t/usr/lib/baresip/modules",
            "module\t\t\tg711.so",
            "module\t\t\taufile.so",
            "module\t\t\tmenu.so",
            "module_app\t\taccount.so",
            "audio_player\t\taufile,%s" % (self.dir / "heard.wav"),
            "audio_source\t\taufile,%s" % (self.dir / "silence.wav"),
            "audio_alert\t\taufile,%s" % (self.dir / "alert.wav"),
            ""]))
        with wave.open(str(self.dir / "silence.wav"), "wb") as w:  # 8 kHz mono, what PCMU needs
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(b"\0\0" * 8000)
        aor = "sip:%s@%s" % (self.username, self.domain)
        if self.domain == self.server_ip:
            aor += ":%d" % self.server_port
        params = ";auth_pass=%s;regint=%d;answermode=auto" % (self.password, self.regint)
        if self.domain != self.server_ip:
            params += ';outbound="sip:%s:%d;transport=udp"' % (self.server_ip, self.server_port)
        (self.dir / "accounts").write_text("<%s;transport=udp>%s\n" % (aor, params))
        (self.dir / "contacts").write_text("")

    def start(self):
        self._write_config()
        with open(self.log_path, "wb") as log:
            command = [BARESIP, "-f", str(self.dir)] + (["-e", "/dial %s" % self.dial] if self.dial else [])
            self.proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def log(self):
        try:
            return _ANSI.sub("", self.log_path.read_text("utf-8", "replace"))
        except FileNotFoundError:
            return ""

    def registration(self):
        """Latest registration outcome seen in the log: (code, reason) or (None, '')."""
        text = self.log()
        found = [(m.start(), int(m.group(1)), m.group(2).strip()) for rx in (self._OK, self._FAIL)
                 for m in rx.finditer(text)]
        if not found:
            return None, ""
        return max(found)[1:]

    def wait_registered(self, timeout=5.0):
        """Wait for a registration outcome; returns (code, reason) as in registration()."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code, reason = self.registration()
            if code is not None:
                return code, reason
            if self.proc.poll() is not None:
                raise RuntimeError("baresip exited (%s):\n%s" % (self.proc.returncode, self.log()[-2000:]))
            time.sleep(0.02)
        return None, "no registration outcome within %.1fs" % timeout

    def wait_call(self, timeout=10.0):
        """Outcome of the call placed with `dial`: (200, 'Call established') or the
        final error (code, reason), or (None, why)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log()
            if self._ESTABLISHED.search(text):
                return 200, "Call established"
            closed = self._CLOSED.search(text)
            if closed:
                return int(closed.group(1)), closed.group(2).strip()
            time.sleep(0.02)
        return None, "no call outcome within %.1fs" % timeout

    def stop(self, timeout=5.0):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
