# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Platform `linux_baresip`: a Linux host whose phone is baresip, run as the device user.

Everything the driver owns lives in `$HOME/.baresip` on the device:
  config                  baresip's config: SIP bound to the device's address (sip_listen, net_interface)
  accounts                one account per channel, each after a `# switchboard channel N` comment (0600)
  switchboard-hotdesking  `on` or `off` (no file: `on`, a device nobody is bound to is free to use)
  baresip.pid, .log       the running phone, started in its own session so it outlives the SSH one

Target options: `sip_address` (default: the SSH host), `sip_port` (default 5060), `regint` (3600).
Reading is one `cat`-style command; files are written over SFTP (temp file, then rename) so a
password never crosses a terminal; the phone is restarted after its lines change, which makes
every line register again (and a stopped baresip unregisters its lines).
"""

from __future__ import annotations

import re
import time

from .driver import DEVICE_ERROR, DeviceError, DeviceState, Driver as BaseDriver, Line, password_digest

PHONE_DIR = ".baresip"
HOTDESKING_FILE = "switchboard-hotdesking"
MODULE_PATH = "/usr/lib/baresip/modules"
# baresip's accounts syntax (`;name=value` parameters, `<...>` around the URI) cannot carry these
_UNSAFE_PASSWORD = re.compile(r'[\s;"<>\\\x00-\x1f\x7f]')
_CHANNEL = re.compile(r"^#\s*switchboard channel (\d+)\s*$")
_ACCOUNT = re.compile(r"^<sip:(?P<username>[^@:;>]+)@(?P<domain>[^;>]+)(?:;[^>]*)?>(?P<params>.*)$")
_PARAM = re.compile(r';\s*([A-Za-z0-9_]+)=("[^"]*"|[^;]*)')
_REGISTRATION = re.compile(r"(?P<aor>\S+@\S+): \{\d+/(?:UDP|TCP|TLS)/v[46]\} (?P<code>\d{3}) (?P<reason>[^(\n]*)")
_FAILURE = re.compile(r"reg: sip:(?P<aor>\S+@[^:\s]+)\S*: (?P<code>\d{3}) (?P<reason>[^(\n]*)")
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

READ_COMMAND = ('D="$HOME/%s"; echo "@@home=$HOME"; echo @@accounts; cat "$D/accounts" 2>/dev/null; echo; '
                'echo @@hotdesking; cat "$D/%s" 2>/dev/null; echo; echo @@phone; Q=$(cat "$D/baresip.pid" 2>/dev/null); '
                'grep -qa baresip "/proc/$Q/cmdline" 2>/dev/null && echo running || echo stopped; echo @@end'
                % (PHONE_DIR, HOTDESKING_FILE))
# SIGTERM lets baresip unregister its lines; SIGKILL only if it is still there after 5 s
STOP_COMMAND = ('D="$HOME/%s"; Q=$(cat "$D/baresip.pid" 2>/dev/null); if grep -qa baresip "/proc/$Q/cmdline" 2>/dev/null; '
                'then kill "$Q"; for i in $(seq 50); do kill -0 "$Q" 2>/dev/null || break; sleep 0.1; done; '
                'kill -0 "$Q" 2>/dev/null && kill -9 "$Q"; fi; rm -f "$D/baresip.pid"; echo @@stopped' % PHONE_DIR)
# setsid: the phone leaves the SSH session's terminal; the shell writes its own PID, then becomes baresip
START_COMMAND = ('D="$HOME/%s"; (setsid sh -c \'echo $$ > "$0/baresip.pid"; exec baresip -f "$0"\' "$D" '
                 '> "$D/baresip.log" 2>&1 < /dev/null &); echo @@started' % PHONE_DIR)
LOG_COMMAND = 'cat "$HOME/%s/baresip.log" 2>/dev/null; echo @@end' % PHONE_DIR


def sections(output):
    """'@@name' marker lines -> {name: [lines after it]}; '@@home=/x' -> {'home': ['/x']}."""
    found, current = {}, None
    for raw in output.splitlines():
        line = raw.rstrip("\r")
        if line.startswith("@@"):
            name, _equals, value = line[2:].partition("=")
            current = found.setdefault(name, [value] if value else [])
        elif current is not None:
            current.append(line)
    return found


def parse_accounts(lines):
    """baresip account lines -> Line tuple; the channel comes from the comment before each line."""
    parsed, channel = [], None
    for line in (text.strip() for text in lines):
        marker = _CHANNEL.match(line)
        if marker:
            channel = int(marker.group(1))
            continue
        account = _ACCOUNT.match(line)
        if not account:
            continue  # blank or a comment: baresip skips them too
        params = {name: value.strip('"') for name, value in _PARAM.findall(account.group("params"))}
        password = params.get("auth_pass")
        parsed.append(Line(channel, account.group("username"), account.group("domain"),
                           _proxy(params.get("outbound", "")), password_digest(password) if password else None))
        channel = None
    return tuple(parsed)


def _proxy(outbound):
    """'sip:127.0.0.1:5071;transport=udp' -> '127.0.0.1:5071'."""
    uri = outbound.split(";", 1)[0]
    return uri[4:] if uri.startswith("sip:") else uri


def parse_hotdesking(lines):
    """No file: on. 'on' / 'off': that. Anything else: None (unknown, so it differs from any wish)."""
    text = "\n".join(lines).strip()
    return {"": True, "on": True, "off": False}.get(text)


def account_line(line, regint):
    return ('<sip:%s@%s;transport=udp>;auth_pass=%s;outbound="sip:%s;transport=udp";regint=%d'
            % (line.username, line.domain, line.password, line.proxy, regint))


class Driver(BaseDriver):
    platform = "linux_baresip"

    def __init__(self, target):
        super().__init__(target)
        self.home = None

    @property
    def phone_dir(self):
        return "%s/%s" % (self.home, PHONE_DIR)

    def read(self):
        found = sections(self.run(READ_COMMAND))
        if "end" not in found or not found.get("home"):
            raise DeviceError(DEVICE_ERROR, self.target, "the device did not answer the read command as a Linux shell")
        self.home = found["home"][0]
        return DeviceState(parse_accounts(found.get("accounts", [])), parse_hotdesking(found.get("hotdesking", [])),
                           found.get("phone") == ["running"])

    def write(self, lines=None, hotdesking=None):
        if lines is not None:
            self._check_passwords(lines)
        if self.home is None:
            self.read()
        self.run('mkdir -p "$HOME/%s" && chmod 700 "$HOME/%s"' % (PHONE_DIR, PHONE_DIR))
        if hotdesking is not None:
            self.put_file("%s/%s" % (self.phone_dir, HOTDESKING_FILE), "on\n" if hotdesking else "off\n")
        if lines is not None:
            self._write_lines(sorted(lines, key=lambda line: line.index))

    def _check_passwords(self, lines):
        for line in lines:
            if _UNSAFE_PASSWORD.search(line.password):
                raise DeviceError(DEVICE_ERROR, self.target, "channel %d (%s): the password has a character baresip's "
                                  "accounts file cannot carry (white space, control, ; \" < > \\)"
                                  % (line.index, line.username))

    def _write_lines(self, lines):
        options = self.target.options
        address = options.get("sip_address", self.target.host)
        self.put_file("%s/config" % self.phone_dir, "\n".join([
            "poll_method\tepoll",
            "sip_listen\t%s:%d" % (address, int(options.get("sip_port", 5060))),
            "net_interface\t%s" % address,
            "sip_trans_def\tudp",
            "module_path\t%s" % MODULE_PATH,
            "module\tg711.so",
            "module_app\taccount.so",
            ""]))
        regint = int(options.get("regint", 3600))
        text = "".join("# switchboard channel %d\n%s\n" % (line.index, account_line(line, regint)) for line in lines)
        self.put_file("%s/accounts" % self.phone_dir, text)
        self._command(STOP_COMMAND, "@@stopped")
        if lines:
            self._command(START_COMMAND, "@@started")

    def _command(self, command, done):
        if done not in (line.strip() for line in self.run(command).splitlines()):  # whole line: the echo holds it too
            raise DeviceError(DEVICE_ERROR, self.target, "the phone could not be %s" % done[2:])
        self.writes += 1

    def verify(self, timeout=5.0):
        """Poll the phone's log until every line has a registration outcome (or `timeout`)."""
        state = self.read()
        wanted = {"%s@%s" % (line.username, line.domain): line.username for line in state.lines}
        deadline = time.monotonic() + timeout
        while True:
            outcomes = registration_outcomes(self.run(LOG_COMMAND))
            if set(wanted) <= set(outcomes) or time.monotonic() >= deadline:
                return {wanted[aor]: outcomes.get(aor, (None, "no registration outcome within %.1fs" % timeout))
                        for aor in wanted}
            time.sleep(0.2)


def registration_outcomes(log):
    """'user@domain' -> the latest (code, reason) baresip logged for it."""
    text = _ANSI.sub("", log)
    found = {}
    events = [(m.start(), m) for rx in (_REGISTRATION, _FAILURE) for m in rx.finditer(text)]
    for _position, match in sorted(events, key=lambda event: event[0]):
        found[match.group("aor")] = (int(match.group("code")), match.group("reason").strip())
    return found
