# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet as the inventory plugin shows it: every device with its channels and who is bound to them.

    devices, warnings = declared_fleet(state_dir, dsn=None, sip_domain="")   # what the state declares
    devices = actual_fleet(dsn, sip_domain)                                  # what the PBX holds

A device is a plain dict, ready for a cache file: name, ip, platform, group, description and
channels [{index, extension, username}], sorted by name and index. Nothing in it is a secret:
an account contributes its number and SIP username only. Each source is one bulk read (the
engine's loader, or one query per table), never one query per device.
"""

from __future__ import annotations

from .. import declared as declared_state
from .. import gather
from ..errors import SwitchboardError
from ..pbx.database import database_exists, redact_dsn


def device_record(device, usernames):
    """usernames: account number -> SIP username; a bound account without one has username None."""
    return {
        "name": device["name"],
        "ip": device["ip"],
        "platform": device["platform"],
        "group": device.get("group"),
        "description": device.get("description"),
        "channels": [{"index": channel["index"], "extension": channel.get("extension"),
                      "username": usernames.get(channel.get("extension"))}
                     for channel in sorted(device.get("channels") or [], key=lambda c: c["index"])],
    }


def read_pbx(dsn, sip_domain):
    """The PBX's actual state. A DSN naming a SQLite file that is not there is an error here (the
    engine would read it as empty): an inventory from a mistyped path must not silently be empty."""
    if not database_exists(dsn):
        raise SwitchboardError("the PBX database %s does not exist" % redact_dsn(dsn))
    return gather.read(dsn, sip_domain)[0]


def pbx_usernames(actual):
    return {number: account["username"] for number, account in actual.objects["accounts"].items()}


def declared_fleet(state_dir, dsn=None, sip_domain=""):
    """The declared devices, validated by the engine's loader (InvalidState lists every problem).
    An account declared without a username (one the PBX generates) takes it from the PBX when a
    DSN is given; otherwise, or when the PBX has no such account yet, it is None."""
    declared, warnings = declared_state.load(state_dir)
    usernames = pbx_usernames(read_pbx(dsn, sip_domain)) if dsn else {}
    usernames.update({number: account["username"]
                      for number, account in declared.objects("accounts").items() if account["username"]})
    devices = declared.objects("devices")
    return [device_record(devices[name], usernames) for name in sorted(devices)], warnings


def actual_fleet(dsn, sip_domain=""):
    """The devices and channel bindings the PBX database holds now."""
    actual = read_pbx(dsn, sip_domain)
    devices = actual.objects["devices"]
    usernames = pbx_usernames(actual)
    return [device_record(devices[name], usernames) for name in sorted(devices)]
