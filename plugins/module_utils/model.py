# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The normalized model: every declared object with its defaults, and where it was declared."""

from __future__ import annotations

import dataclasses
import functools

from .acl import parse_network
from .state_schema import KINDS

KEY_FIELD = {
    "provisioning_profiles": "name",
    "networks": "name",
    "groups": "name",
    "numbers": "number",
    "accounts": "number",
    "devices": "name",
    "trusted_peers": "name",
}


@dataclasses.dataclass
class Entry:
    kind: str
    file: str
    path: str  # e.g. accounts[3]
    obj: dict
    password: object = None  # str, loader.VaultValue or None; never part of obj
    allow_replace: bool = False

    @property
    def key(self):
        return self.obj[KEY_FIELD[self.kind]]


@functools.lru_cache(maxsize=65536)
def _cidr(text):
    try:
        return str(parse_network(text))
    except ValueError:
        return text  # reported by rules with its path


def normalize_group(raw):
    listing = raw.get("ip_listing") or {}
    return {
        "name": raw["name"],
        "description": raw.get("description"),
        "provisioning_profile": raw.get("provisioning_profile"),
        "ip_listing": {
            "enabled": bool(listing.get("enabled", False)),
            "allow": [_cidr(n) for n in listing.get("allow", [])],
        },
    }


def normalize_profile(raw):
    """The activation fields only when declared: profiles stored before they existed are not drift."""
    profile = {"name": raw["name"], "description": raw.get("description")}
    if "base_url" in raw:
        profile["base_url"] = raw["base_url"].rstrip("/")  # links are base_url + "/i/..." either way
    for field in ("download_urls", "token_lifetime_days", "templates"):  # stored as declared: read back, still valid
        if field in raw:
            profile[field] = raw[field]
    return profile


def normalize_network(raw):
    return {"name": raw["name"], "description": raw.get("description"),
            "networks": [_cidr(n) for n in raw["networks"]]}


def normalize_number(raw):
    return {"number": raw["number"], "state": raw.get("state", "active"), "group": raw.get("group"),
            "description": raw.get("description")}


def normalize_acl(entries):
    return [{action: _cidr(network)} for entry in entries for action, network in entry.items()]


def normalize_account(raw):
    """The account as its file declares it: the provisioning profile a wizard account inherits from its group,
    which may be declared in another file, is filled in by merged()."""
    kind = raw.get("type", "sip")
    activation = raw.get("activation", "plain")
    obfuscation = None
    if "obfuscation" in raw or kind == "pgsm":
        declared = raw.get("obfuscation") or {}
        obfuscation = {"enabled": declared.get("enabled", True), "key": str(declared.get("key", "9"))}
    restricted = raw.get("restricted_networks") or []
    return {
        "number": raw["number"],
        "group": raw["group"],
        "type": kind,
        "activation": activation,
        "username": raw.get("username"),
        "security_model": raw.get("security_model", "sdes"),
        "secondary_number": raw.get("secondary_number"),
        "additional_numbers": sorted(raw.get("additional_numbers", [])),
        "obfuscation": obfuscation,
        "keepalive": raw.get("keepalive", False),
        "acl": normalize_acl(raw.get("acl", [])),
        "enabled": raw.get("enabled", True),
        "provisioning_profile": raw.get("provisioning_profile"),
        "owner": raw.get("owner"),
        "email": raw.get("email"),
        "description": raw.get("description"),
        "callerid": raw.get("callerid"),
        "voice_channels": raw.get("voice_channels"),
        "tariff": raw.get("tariff", "usage"),
        "restricted_networks": sorted([restricted] if isinstance(restricted, str) else restricted),
        "multi_login": raw.get("multi_login", False),
    }


def normalize_device(raw):
    channels = sorted(raw.get("channels", []), key=lambda c: c["index"])
    device = {
        "name": raw["name"],
        "group": raw.get("group"),
        "ip": raw["ip"],
        "platform": raw["platform"],
        "description": raw.get("description"),
        "channels": [{"index": c["index"], "extension": c.get("extension")} for c in channels],
    }
    if "port" in raw:  # only when declared: devices stored before ports existed are not drift
        device["port"] = raw["port"]
    return device


def normalize_trusted_peer(raw):
    return {"name": raw["name"], "address": _cidr(raw["address"]), "description": raw.get("description")}


def declared_form(obj):
    """An object as a state file would write it: unset fields and empty lists left out."""
    return {k: v for k, v in obj.items() if v is not None and v != []}


def account_numbers(account):
    """All numbers an account holds, with their role."""
    numbers = [(account["number"], "primary")]
    if account.get("secondary_number"):
        numbers.append((account["secondary_number"], "secondary"))
    if account.get("additional_numbers"):  # rare: no generator to run for the 100k accounts without
        numbers.extend((n, "additional") for n in account["additional_numbers"])
    return numbers


@dataclasses.dataclass
class Declared:
    """Built once, then only read: the lookups are computed once per kind."""

    entries: dict  # kind -> [Entry]
    drift_ignore: list = dataclasses.field(default_factory=list)  # [(file, path, item)]: drift accepted (drift_ignore.py)
    _objects: dict = dataclasses.field(default_factory=dict, repr=False, compare=False)

    def objects(self, kind):
        if kind not in self._objects:
            field = KEY_FIELD[kind]
            self._objects[kind] = {e.obj[field]: e.obj for e in self.entries[kind]}
        return self._objects[kind]

    def by_key(self, kind):
        field = KEY_FIELD[kind]  # Entry.key's lookup, once per kind (1M accounts)
        return {e.obj[field]: e for e in self.entries[kind]}


NORMALIZERS = {
    "provisioning_profiles": normalize_profile,
    "networks": normalize_network,
    "groups": normalize_group,
    "numbers": normalize_number,
    "accounts": normalize_account,
    "devices": normalize_device,
    "trusted_peers": normalize_trusted_peer,
}


def build(documents, platform_groups=None):
    """Merge all documents (already schema-valid) into one Declared model. ``platform_groups``: groups on the
    platform but not declared (merged mode), whose default provisioning profile a wizard account inherits."""
    return merged([file_part(document) for document in documents], platform_groups)


def file_part(document):
    """One document's objects normalized, as a Declared of its own. The state's file checkers build it where they
    parse (declared.py), so that the run only merges the parts."""
    data = document.data or {}  # an empty file is None
    entries = {kind: [Entry(kind, document.file, "%s[%d]" % (kind, index), NORMALIZERS[kind](raw),
                            password=raw.get("password"), allow_replace=bool(raw.get("allow_replace", False)))
                      for index, raw in enumerate(data.get(kind) or [])]
               for kind in KINDS}
    drift_ignore = [(document.file, "drift_ignore[%d]" % index, item)
                    for index, item in enumerate(data.get("drift_ignore") or [])]
    return Declared(entries, drift_ignore)


def portable(part):
    """A file part as plain data: JSON for the parse cache, which keeps it by the file's content (so without the
    file's name), and what a file checker sends to the run."""
    return {"entries": {kind: [[entry.obj, entry.password, entry.allow_replace] for entry in entries]
                        for kind, entries in part.entries.items() if entries},
            "drift_ignore": [item for _file, _path, item in part.drift_ignore]}


def restored(file, data):
    """The file part that portable() made, declared in ``file``."""
    entries = {kind: [Entry(kind, file, "%s[%d]" % (kind, index), obj, password=password, allow_replace=allow_replace)
                      for index, (obj, password, allow_replace) in enumerate(data["entries"].get(kind, ()))]
               for kind in KINDS}
    return Declared(entries, [(file, "drift_ignore[%d]" % index, item) for index, item in enumerate(data["drift_ignore"])])


def merged(parts, platform_groups=None):
    """One Declared model of the files' parts (file_part), in their order. A wizard account without a provisioning
    profile of its own gets its group's (``platform_groups``: as build's). The parts' entries are the model's."""
    entries = {kind: [entry for part in parts for entry in part.entries[kind]] for kind in KINDS}
    groups = {**(platform_groups or {}), **{entry.key: entry.obj for entry in entries["groups"]}}
    for entry in entries["accounts"]:
        inherit_profile(entry.obj, groups)
    return Declared(entries, [item for part in parts for item in part.drift_ignore])


def inherit_profile(account, groups):
    """A wizard account without a provisioning profile of its own takes its group's (``groups``: name -> group)."""
    if account["provisioning_profile"] is None and account["activation"] == "wizard":
        account["provisioning_profile"] = (groups.get(account["group"]) or {}).get("provisioning_profile")
    return account
