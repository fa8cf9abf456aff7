# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The interface every device platform implements, and the SSH session they share.

    driver = platforms.driver_for(Target(name="desk-1", host="127.0.0.10", port=2222, username="phone",
                                         key_file="...", known_hosts="...", options={"sip_port": 5060}),
                                  "linux_baresip")
    with driver:                          # one netmiko session (linux device type)
        state = driver.read()             # DeviceState(lines=(Line...), hotdesking, phone_running)
        driver.apply(lines, hotdesking)   # "unchanged" or "changed"; writes only what differs
        driver.verify(timeout=5)          # {username: (code, reason)} as the phone saw it

A driver is one file in this package named after its platform (`linux_baresip.py`) with a
`Driver` subclass of the one here, listed in platforms.py. Passwords go in (DesiredLine) but
never come out: a read line carries a digest keyed by a random per-process key, good only
for comparing within this run (so one run reads, compares and writes in one process).
Failures are DeviceError with a status an operator acts on: `unreachable`, `auth_failed`,
`timeout`, or `device_error` (the device answered, but not as the driver expects).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import secrets
import socket

UNREACHABLE = "unreachable"
AUTH_FAILED = "auth_failed"
TIMEOUT = "timeout"
DEVICE_ERROR = "device_error"

# paramiko logs (and prints, having no handler) what it raises; the driver reports every failure itself
logging.getLogger("paramiko").addHandler(logging.NullHandler())
_DIGEST_KEY = secrets.token_bytes(32)  # per process: a digest means nothing outside this run


def password_digest(password):
    return hmac.new(_DIGEST_KEY, password.encode("utf-8"), hashlib.sha256).hexdigest()


@dataclasses.dataclass(frozen=True)
class Line:
    """A channel as read from a device; `password_digest` None: the line has no password."""
    index: int | None
    username: str
    domain: str
    proxy: str
    password_digest: str | None

    def public(self):
        """The line as reports show it: the password only as present or not."""
        return {"index": self.index, "username": self.username, "domain": self.domain, "proxy": self.proxy,
                "password": "********" if self.password_digest else None}


@dataclasses.dataclass(frozen=True)
class DesiredLine:
    """A channel as it should be on the device, its password in clear (never in repr)."""
    index: int
    username: str
    domain: str
    proxy: str
    password: str = dataclasses.field(repr=False)

    def as_read(self):
        return Line(self.index, self.username, self.domain, self.proxy, password_digest(self.password))


@dataclasses.dataclass(frozen=True)
class DeviceState:
    lines: tuple
    hotdesking: bool
    phone_running: bool

    def public(self):
        return {"lines": [line.public() for line in self.lines], "hotdesking": self.hotdesking,
                "phone_running": self.phone_running}


@dataclasses.dataclass(frozen=True)
class Target:
    """How to reach a device. Host keys are checked against `known_hosts` only."""
    name: str
    host: str
    username: str
    key_file: str
    known_hosts: str
    port: int = 22
    conn_timeout: float = 10.0
    command_timeout: float = 20.0
    options: dict = dataclasses.field(default_factory=dict)

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)


class DeviceError(Exception):
    """A device could not be read or written; the text names the device and never holds a secret."""

    def __init__(self, status, target, reason):
        super().__init__("%s (%s): %s: %s" % (target.name, target.address, status, reason))
        self.status = status
        self.device = target.name
        self.reason = reason


def _connect_failure(target, exc):
    """Classify what netmiko raised while connecting; its own exception carries paramiko's as context."""
    from netmiko.exceptions import NetmikoAuthenticationException
    import paramiko

    cause = exc.__context__ or exc
    if isinstance(cause, paramiko.ssh_exception.NoValidConnectionsError):
        cause = next(iter(cause.errors.values()))  # one per address tried: we give an IP, so one
    if isinstance(exc, NetmikoAuthenticationException):
        return DeviceError(AUTH_FAILED, target, "the device refused the key %s" % target.key_file)
    if isinstance(cause, paramiko.BadHostKeyException) or "known_hosts" in str(cause):
        # the device is not the one known_hosts names: authenticating it failed, so nothing is sent
        return DeviceError(AUTH_FAILED, target, "host key not verified against %s" % target.known_hosts)
    if isinstance(cause, socket.timeout):
        return DeviceError(UNREACHABLE, target, "no answer within %gs" % target.conn_timeout)
    if isinstance(cause, OSError):
        return DeviceError(UNREACHABLE, target, cause.strerror or str(cause))
    # the port answered, but no SSH session came up in time (no banner, no key exchange)
    return DeviceError(UNREACHABLE, target, "no SSH session within %gs" % target.conn_timeout)


class Driver:
    """The shared half of every driver: the netmiko session, commands, files, and apply()."""

    platform = None

    def __init__(self, target):
        self.target = target
        self.connection = None
        self.sftp = None  # opened on the first file written, one per session
        self.writes = 0  # SSH writes made (files and state-changing commands): a no-change run makes none

    # --- session -------------------------------------------------------------------------
    def connect(self):
        from netmiko import ConnectHandler
        from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

        try:
            self.connection = ConnectHandler(
                device_type="linux", host=self.target.host, port=self.target.port, username=self.target.username,
                use_keys=True, key_file=self.target.key_file, allow_agent=False,
                ssh_strict=True, system_host_keys=False, alt_host_keys=True, alt_key_file=self.target.known_hosts,
                conn_timeout=self.target.conn_timeout, auth_timeout=self.target.conn_timeout,
                banner_timeout=self.target.conn_timeout, session_log=None)
        except (NetmikoAuthenticationException, NetmikoTimeoutException, OSError, EOFError) as exc:
            raise _connect_failure(self.target, exc) from None
        return self

    def close(self):
        if self.sftp is not None:
            self.sftp.close()
            self.sftp = None
        if self.connection is not None:
            try:
                self.connection.disconnect()
            except (OSError, EOFError):
                pass  # already gone: nothing left to close
            self.connection = None

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()

    def run(self, command):
        """A shell command's output; a session that stops answering is a `timeout`."""
        from netmiko.exceptions import NetmikoTimeoutException, ReadException

        try:
            return self.connection.send_command(command, read_timeout=self.target.command_timeout,
                                                strip_prompt=True, strip_command=True)
        except (NetmikoTimeoutException, ReadException, OSError, EOFError) as exc:
            raise DeviceError(TIMEOUT, self.target, "no answer to a command within %gs (%s)"
                              % (self.target.command_timeout, type(exc).__name__)) from None

    def put_file(self, path, text, mode=0o600):
        """Write `text` to the absolute `path` atomically (a temp file renamed over it), over SFTP on the
        same SSH connection: the content never passes through a shell, a terminal or a log."""
        temporary = "%s.switchboard-new" % path
        try:
            if self.sftp is None:
                self.sftp = self.connection.remote_conn_pre.open_sftp()
            with self.sftp.open(temporary, "w") as handle:
                handle.chmod(mode)  # before the first byte, so a password is never world-readable
                handle.write(text.encode("utf-8"))
            self.sftp.posix_rename(temporary, path)
        except (IOError, OSError) as exc:
            raise DeviceError(DEVICE_ERROR, self.target, "cannot write %s: %s" % (path, exc.strerror or exc)) from None
        self.writes += 1

    # --- what a platform implements ----------------------------------------------------
    def read(self):
        """The device's DeviceState."""
        raise NotImplementedError

    def write(self, lines=None, hotdesking=None):
        """Write the lines (DesiredLine...) and/or the hot-desking flag; None leaves that part alone."""
        raise NotImplementedError

    def verify(self, timeout=5.0):
        """{username: (code, reason)}: the registration outcome of every line as the phone saw it."""
        raise NotImplementedError

    # --- shared logic --------------------------------------------------------------------
    def apply(self, lines, hotdesking):
        """Read, then write only what differs: 'unchanged' (no SSH write at all) or 'changed'."""
        lines_to_write, hotdesking_to_write = difference(self.read(), lines, hotdesking)
        if lines_to_write is None and hotdesking_to_write is None:
            return "unchanged"
        self.write(lines=lines_to_write, hotdesking=hotdesking_to_write)
        return "changed"


def difference(before, lines, hotdesking):
    """(lines, hotdesking) to write so that a device read as `before` holds `lines` and `hotdesking`;
    None for a part that is already right. A bound device whose phone is not running needs its lines again."""
    wanted = tuple(sorted((line.as_read() for line in lines), key=lambda line: line.index))
    lines_differ = before.lines != wanted or (bool(wanted) and not before.phone_running)
    return (lines if lines_differ else None), (hotdesking if before.hotdesking != hotdesking else None)
