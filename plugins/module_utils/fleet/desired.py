# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every declared device should hold (SPEC §7): pure, no I/O.

A bound channel becomes a line with the bound account's SIP username (as the PBX knows it: generated
usernames are read back, never invented here), the SIP domain, the proxy and the account's password.
Hot-desking is off while any user is bound, on when none is. A binding that cannot become a line
(a wizard account, a password nobody declared, an account the PBX does not have yet) is a problem
of that device alone: the other devices are still provisioned.
"""

from __future__ import annotations

import dataclasses

from ..errors import Problem
from ..loader import VaultValue
from .driver import DesiredLine

DEFAULT_SSH_PORT = 22


@dataclasses.dataclass(frozen=True)
class Wish:
    name: str
    platform: str
    host: str
    port: int
    lines: tuple  # DesiredLine, by channel index
    problems: tuple  # Problem: why this device cannot be provisioned as declared

    @property
    def hotdesking(self):
        return not self.lines  # SPEC §7: nobody else logs in while a user is bound

    @property
    def address(self):
        return "%s:%d" % (self.host, self.port)


def wishes(declared, usernames, passwords, sip_domain, proxy):
    """declared: model.Declared (rules already checked); usernames: number -> username on the PBX;
    passwords: number -> clear password (vault, secrets file). Returns [Wish] by device name."""
    accounts = declared.by_key("accounts")
    found = []
    for entry in declared.entries["devices"]:
        device = entry.obj
        lines, problems = [], []
        for position, channel in enumerate(device["channels"]):
            if channel["extension"] is None:
                continue
            line = _line(entry, position, channel, accounts[channel["extension"]], usernames, passwords, sip_domain, proxy)
            (problems if isinstance(line, Problem) else lines).append(line)
        found.append(Wish(device["name"], device["platform"], device["ip"], device.get("port", DEFAULT_SSH_PORT),
                          tuple(lines), tuple(problems)))
    return sorted(found, key=lambda wish: wish.name)


def _line(entry, position, channel, account, usernames, passwords, sip_domain, proxy):
    """A DesiredLine, or the Problem that keeps this binding off the device."""
    number = channel["extension"]
    path = "%s.channels[%d].extension" % (entry.path, position)

    def problem(message, rule):
        return Problem(entry.file, path, "%s: extension %s %s" % (entry.key, number, message), rule)

    if account.obj["activation"] == "wizard":
        return problem("is a wizard account: its password is chosen by the system and never known, so it "
                       "cannot be provisioned onto a desk phone", "only plain accounts go onto devices")
    username = usernames.get(number)
    if username is None:
        return problem("is not on the PBX yet (apply the platform first)", "a device line needs the account on the PBX")
    password = passwords.get(number, account.password)
    if isinstance(password, VaultValue):
        return problem("has a !vault password that no vault secret could decrypt", "a device line needs the password")
    if password is None:
        return problem("has no password (inline !vault, the secrets file, or plain text)",
                       "a device line needs the password")
    return DesiredLine(channel["index"], username, sip_domain, proxy, password)
