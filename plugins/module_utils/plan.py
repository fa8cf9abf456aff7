# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare declared and actual state and produce the ordered changes; pure, no I/O."""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets

from . import unmanaged
from .acl import compile_acl, parse_network, restrict
from .collector import paused
from .errors import Problem
from .loader import VaultValue
from .model import account_numbers
from .pbx.store import PbxRows
from .state_schema import KINDS

ACTIVATED = ("activated", "connected")
MIN_PASSWORD_LENGTH = 8
MERGED, OVERRIDDEN = "merged", "overridden"
# PbxRows fields as a change names them when Kamailio's rows drifted from the account.
KAMAILIO_WORDS = {"aliases": "number aliases", "disabled": "disabled flag", "allowed_networks": "allowed networks",
                  "main_number": "caller ID number", "voice_channels": "voice channel limit"}
SUBSCRIBER_MISSING = "subscriber row missing"
CREDENTIAL_RULE = "drift repair never invents credentials"


@dataclasses.dataclass
class Change:
    kind: str
    key: str
    action: str  # create | update | replace | delete
    fields: list
    before: dict = None
    after: dict = None
    file: str = None
    path: str = None
    pbx: PbxRows = dataclasses.field(default=None, repr=False)  # HA1s: never reported
    replaces: tuple = None  # (old number, old username) for replace
    rows: tuple = ()  # KamailioRows no account owns, deleted before this change is written
    kamailio: tuple = None  # (actual, wanted) Kamailio facts in words, when they drifted

    @property
    def address(self):
        return "%s/%s" % (self.kind, self.key)


def changed_paths(before, after):
    """Field paths that differ, as accounts' YAML would name them: acl[0].deny, obfuscation.key.
    DeepDiff's affected paths, with mappings and plain values compared here: DeepDiff costs ~0.2 ms per object
    (20 s when a change touches 100k accounts), and what it adds, its diff of reordered lists, is kept."""
    paths = []
    _differences(before, after, "root", paths)
    return sorted(re.sub(r"\['([^']*)'\]", r".\1", p[len("root"):]).lstrip(".") for p in paths)


PLAIN_VALUES = (str, int, float, bool, type(None))  # DeepDiff: a change when != (bool and int are two types)
DIFF_DEEPER = 0.33  # DeepDiff's threshold_to_diff_deeper: below this share of common keys, the whole mapping changed


def _differences(before, after, path, found):
    """Add to ``found`` DeepDiff's affected paths between two values at ``path``."""
    if type(before) is not type(after):
        found.append(path)  # DeepDiff reports a type change and does not look inside
    elif type(before) in PLAIN_VALUES:
        if before != after:
            found.append(path)
    elif before.__class__ is dict and all(map(_plain_key, before.keys() | after.keys())):
        _mapping_differences(before, after, path, found)
    elif not _identical(before, after):  # lists: DeepDiff's own diff of moved and changed items
        from deepdiff import DeepDiff

        found.extend(path + p[len("root"):] for p in DeepDiff(before, after).affected_paths)


def _plain_key(key):
    """DeepDiff writes it root['key'] (no quotes inside) and never skips it (it skips '__private' keys)."""
    return key.__class__ is str and key.isidentifier() and not key.startswith("_")


def _mapping_differences(before, after, path, found):
    common, keys = before.keys() & after.keys(), len(before.keys() | after.keys())
    if keys > 1 and len(common) / keys < DIFF_DEEPER:
        found.append(path)
        return
    found.extend("%s['%s']" % (path, key) for key in before.keys() ^ after.keys())
    for key in common:
        value, other = before[key], after[key]
        if value is not other and not (type(value) is type(other) and type(value) in PLAIN_VALUES and value == other):
            _differences(value, other, "%s['%s']" % (path, key), found)


def _identical(before, after):
    """Equal, and of the same types all the way down (DeepDiff tells 1 from 1.0 and from True)."""
    if type(before) is not type(after):
        return False
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(_identical(value, after[key]) for key, value in before.items())
    if isinstance(before, (list, tuple)):
        return len(before) == len(after) and all(map(_identical, before, after))
    return before == after


def ha1_pair(username, domain, password):
    return _md5("%s:%s:%s" % (username, domain, password)), _md5("%s@%s:%s:%s" % (username, domain, domain, password))


def _md5(text):
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # Kamailio's digest HA1 is MD5 by definition


def kamailio_facts(rows):
    """An account's rows in Kamailio's tables, in the words of the drift fields (its HA1 never)."""
    if rows is None:
        return {"subscriber row": "missing"}
    return {"subscriber row": "present", "number aliases": sorted(rows.aliases), "disabled flag": rows.disabled,
            "allowed networks": "any" if rows.allowed_networks is None else list(rows.allowed_networks),
            "caller ID number": rows.main_number, "voice channel limit": rows.voice_channels}


def allowed_networks(account, networks):
    """None when the account may register from anywhere, else the sorted allowed CIDRs."""
    if not account["acl"] and not account["restricted_networks"]:
        return None
    allowed = compile_acl([(action, parse_network(net)) for rule in account["acl"] for action, net in rule.items()])
    if account["restricted_networks"]:
        allowed = restrict(allowed, [parse_network(n) for name in account["restricted_networks"]
                                     for n in networks[name]["networks"]])
    return tuple(sorted(str(n) for n in allowed))


class Holders:
    """username -> the accounts holding it after the run, in the order they were added."""

    def __init__(self):
        self._first, self._more = {}, {}

    def add(self, username, key):
        first = self._first.setdefault(username, key)
        if first != key:
            self._more.setdefault(username, [first]).append(key)

    def shared(self):
        """(username, [account keys]) of every username more than one account holds, in the order first added."""
        if not self._more:
            return []
        return [(username, self._more[username]) for username in self._first if username in self._more]


class Planner:
    def __init__(self, declared, actual, domain, mode, passwords):
        self.declared, self.actual, self.domain, self.mode = declared, actual, domain, mode
        self.passwords = passwords
        self.problems = []
        self.changes = []
        self.warnings = []
        self._allowed = {}  # many accounts share one ACL: compile it once

    def problem(self, entry, field, message, rule):
        self.problems.append(Problem(entry.file, entry.path + ("." + field if field else ""), message, rule))

    def plan(self):
        if self.mode == OVERRIDDEN and not any(self.declared.entries.values()) and any(self.actual.objects.values()):
            self.problems.append(Problem("state_dir", "", "the declared state is empty: overridden mode would remove "
                                         "everything on the platform", "overridden mode needs a declared state"))
            return self.changes, self.problems, self.warnings
        if self.mode != OVERRIDDEN:
            self._binding_conflicts()
        for kind in KINDS:
            if kind == "accounts":
                self._accounts()
            else:
                self._objects(kind)
        return self.changes, self.problems, self.warnings

    def _objects(self, kind):
        actual = self.actual.objects[kind]
        declared = self.declared.by_key(kind)
        for key, entry in declared.items():
            before = actual.get(key)
            if before is None:
                self.changes.append(Change(kind, key, "create", [], None, entry.obj, entry.file, entry.path))
            elif before != entry.obj:
                self.changes.append(Change(kind, key, "update", changed_paths(before, entry.obj), before, entry.obj,
                                           entry.file, entry.path))
        if self.mode == OVERRIDDEN:
            for key in sorted(set(actual) - set(declared)):
                self.changes.append(Change(kind, key, "delete", [], actual[key], None))

    # -- accounts -------------------------------------------------------------
    def _password(self, key, entry):
        if key in self.passwords:
            if entry.obj["activation"] == "wizard":
                self.problem(entry, "password", "a wizard account's password is chosen by the system (remove it "
                             "from the vault or secrets file)", "wizard accounts take no password")
                return None
            password = self.passwords[key]
            if len(password) < MIN_PASSWORD_LENGTH:  # inline plain text is held to this by the schema
                self.problem(entry, "password", "is shorter than %d characters" % MIN_PASSWORD_LENGTH,
                             "passwords have at least %d characters" % MIN_PASSWORD_LENGTH)
            return password
        if isinstance(entry.password, VaultValue):
            self.problem(entry, "password", "is encrypted with Ansible Vault but no vault secret could decrypt it",
                         "vault values need the vault secret")
            return None
        return entry.password

    def _accounts(self):
        actual = self.actual.objects["accounts"]
        declared = self.declared.by_key("accounts")
        # In merged mode an account may name a network list that is only on the platform (validated on load).
        networks = dict(self.actual.objects["networks"], **self.declared.objects("networks"))
        owner_of_username = {obj["username"]: key for key, obj in actual.items()}
        taken_usernames = set(owner_of_username) | {e.obj["username"] for e in declared.values() if e.obj["username"]}
        taken_usernames |= {r.username for r in self.actual.unknown_rows if r.username}
        replaced = set()
        # After this run: username -> the first account holding it, and -> [every holder] when more than one
        # (no list per username: at 1M accounts they cost seconds, and almost every username has one holder).
        usernames = Holders()
        # number -> (entry, account, PbxRows, before): every declared account without a problem; kept only for
        # Kamailio rows no account owns (_unknown_rows), as most platforms have none.
        planned = {} if self.actual.unknown_rows else None
        account_status, pbx = self.actual.account_status, self.actual.pbx
        for key, entry in declared.items():
            account = dict(entry.obj)
            before = actual.get(key)
            old = None
            reasons = []
            if before is not None:
                account["username"] = account["username"] or before["username"]
                if account["username"] != before["username"]:
                    reasons.append("username")
                if account["secondary_number"] != before["secondary_number"]:
                    reasons.append("secondary_number")
                old = (key, before["username"]) if reasons else None
            elif account["username"] in owner_of_username and owner_of_username[account["username"]] not in declared:
                # An undeclared account with this username: its primary number is what changed.
                other = owner_of_username[account["username"]]
                reasons, old, before = ["number"], (other, account["username"]), actual[other]
            if reasons and not entry.allow_replace:
                self.problem(entry, reasons[0], "changing the %s of an existing account deletes and re-creates it "
                             "(its client must be re-provisioned): set allow_replace: true on this account to allow it"
                             % " and ".join(reasons), "primary and secondary numbers are not editable")
                continue
            if old:
                replaced.add(old[0])
            password = self._password(key, entry)
            new = before is None or old is not None
            if new and account["activation"] == "plain" and password is None:
                self.problem(entry, "password", "a plain account needs a password when it is created "
                             "(inline !vault, the secrets file, or plain text)", "plain accounts need a password")
                continue
            current = None if new else pbx.get(account["username"])
            status = "created" if new else account_status[key][0]
            if not new and current is None and password is None and (
                    self._password_given(entry) or self._credential_lost(entry, account, status)):
                continue  # a password given but not usable is reported by _password
            if not account["username"]:
                account["username"] = generate_username(taken_usernames)
            taken_usernames.add(account["username"])
            usernames.add(account["username"], key)
            rows = self._pbx_rows(account, password, current, status, networks)
            if planned is not None:
                planned[key] = (entry, account, rows, before)
            if new:
                action = "replace" if old else "create"
                fields = changed_paths(before, account) if old else []
                self.changes.append(Change("accounts", key, action, fields, before, account, entry.file, entry.path,
                                           rows, old))
                continue
            fields = changed_paths(before, account) if before != account else []
            drift = [] if current == rows else self._pbx_drift(current, rows, password is not None)
            if fields or drift:
                self.changes.append(Change("accounts", key, "update", fields + drift, before, account, entry.file,
                                           entry.path, rows, kamailio=self._facts(current, rows, drift)))
        self._unknown_rows(planned)
        self._number_conflicts(declared, replaced)
        self._username_conflicts(usernames, declared, replaced)
        if self.mode == OVERRIDDEN:
            for key in sorted(set(actual) - set(declared) - replaced):
                self.changes.append(Change("accounts", key, "delete", [], actual[key], None,
                                           replaces=(key, actual[key]["username"])))

    def _password_given(self, entry):
        return entry.password is not None or entry.key in self.passwords

    def _credential_lost(self, entry, account, status):
        """The account's subscriber row is gone and its password is not declared: only a wizard account
        whose client holds no password yet may get a new one; anything else would lock its client out."""
        if account["activation"] == "wizard" and status not in ACTIVATED:
            return False
        if account["activation"] == "wizard":
            self.problem(entry, "password", "the account's subscriber row (its SIP credential in Kamailio) is missing "
                         "and only its client knows the password (the account is %s): re-activate the account, "
                         "which gives its client a new password" % status, CREDENTIAL_RULE)
        else:
            self.problem(entry, "password", "the account's subscriber row (its SIP credential in Kamailio) is missing "
                         "and its password is not declared: declare it (inline !vault, the secrets file, or plain "
                         "text) to restore the row; a new random password would lock its client out", CREDENTIAL_RULE)
        return True

    def _unknown_rows(self, planned):
        """Kamailio rows no account owns: a declared account removes those in its way (its username's, a
        second target of its number) in any mode; overridden mode removes the rest, merged mode reports them.
        ``planned`` is None when there are none."""
        if planned is None:
            return
        usernames = {account["username"]: key for key, (_e, account, _r, _b) in planned.items()}
        numbers = {n: key for key, (_e, account, _r, _b) in planned.items() for n, _role in account_numbers(account)}
        claimed, rest = unmanaged.claim(self.actual.unknown_rows, usernames, numbers)
        changes = {c.key: c for c in self.changes if c.kind == "accounts"}
        for key, rows in sorted(claimed.items()):
            change = changes.get(key)
            if change is None:
                entry, account, pbx, before = planned[key]
                change = Change("accounts", key, "update", [], before, account, entry.file, entry.path, pbx)
                self.changes.append(change)
            change.rows = tuple(rows)
            change.fields = change.fields + [f for f in unmanaged.claimed_fields(rows) if f not in change.fields]
        if self.mode == OVERRIDDEN:
            self.changes.extend(Change(unmanaged.KIND, key, "delete", unmanaged.reasons(rows), unmanaged.shown(rows),
                                       None, rows=tuple(rows)) for key, rows in unmanaged.grouped(rest))
        elif rest:
            self.warnings.append(unmanaged.merged_warning(rest))

    def _pbx_rows(self, account, password, current, status, networks):
        if password is not None:
            ha1, ha1b = ha1_pair(account["username"], self.domain, password)
        elif current is not None:
            ha1, ha1b = current.ha1, current.ha1b
        else:  # a wizard account not activated yet (_credential_lost): nobody knows its password, nobody sees it
            ha1, ha1b = ha1_pair(account["username"], self.domain, secrets.token_urlsafe(18))
        pending = account["activation"] == "wizard" and status not in ACTIVATED
        allowed = None  # allowed_networks' answer without an ACL or restricted networks
        if account["acl"] or account["restricted_networks"]:
            acl_key = (tuple([item for rule in account["acl"] for item in rule.items()]),
                       tuple(account["restricted_networks"]))
            allowed = self._allowed.get(acl_key)
            if allowed is None:
                allowed = self._allowed[acl_key] = allowed_networks(account, networks)
        if account["secondary_number"] or account["additional_numbers"]:
            aliases = frozenset(n for n, _role in account_numbers(account))
        else:  # most accounts: their number alone, without a list of (number, role) made to be thrown away
            aliases = frozenset((account["number"],))
        return PbxRows(ha1, ha1b, aliases, pending or not account["enabled"], allowed, account["number"],
                       account["voice_channels"])

    @staticmethod
    def _pbx_drift(current, wanted, password_declared):
        if current is None:
            return [SUBSCRIBER_MISSING]
        if current == wanted:  # the usual case, one tuple comparison
            return []
        fields = []
        if password_declared and (current.ha1, current.ha1b) != (wanted.ha1, wanted.ha1b):
            fields.append("password")
        for name, words in KAMAILIO_WORDS.items():
            if getattr(current, name) != getattr(wanted, name):
                fields.append(words)
        return fields

    @staticmethod
    def _facts(current, wanted, drift):
        """Before/after of Kamailio's rows for the diff, when something other than the password drifted."""
        if not set(drift) - {"password"}:
            return None
        return kamailio_facts(current), kamailio_facts(wanted)

    def _username_conflicts(self, usernames, declared, replaced):
        """After the run every username names one account: declared ones and, in merged mode, those staying."""
        if self.mode != OVERRIDDEN:
            for key, obj in self.actual.objects["accounts"].items():
                if key not in declared and key not in replaced:
                    usernames.add(obj["username"], key)
        for username, holders in usernames.shared():
            for key in holders:
                entry = declared.get(key)
                if entry is not None:  # an undeclared account's side is reported on the declared one
                    self.problem(entry, "username", "%r would also be the username of account %s" % (
                        username, ", ".join(k for k in holders if k != key)), "usernames are unique")

    def _binding_conflicts(self):
        """In merged mode undeclared devices stay: the extensions bound on them count."""
        declared_devices = self.declared.by_key("devices")
        held = {}
        for name, device in self.actual.objects["devices"].items():
            if name not in declared_devices:
                for channel in device["channels"]:
                    if channel["extension"]:
                        held.setdefault(channel["extension"], []).append(name)
        if not held:  # the usual case: nothing to count (and no map of every declared account to build)
            return
        accounts = self.declared.objects("accounts")
        bound = {}
        for entry in declared_devices.values():
            for position, channel in enumerate(entry.obj["channels"]):
                number = channel["extension"]
                if number not in held:
                    continue
                bound[number] = bound.get(number, 0) + 1
                limit = 2 if (accounts.get(number) or {}).get("multi_login") else 1
                if len(held[number]) + bound[number] > limit:
                    self.problem(entry, "channels[%d].extension" % position,
                                 "extension %s is also bound on %s on the platform, which is not in the declared state"
                                 % (number, ", ".join(sorted(held[number]))),
                                 "an extension sits on one channel, two with multi_login")

    def _number_conflicts(self, declared, replaced):
        """In merged mode undeclared accounts stay: their numbers are not free."""
        if self.mode == OVERRIDDEN:
            return
        staying = {}
        for key, obj in self.actual.objects["accounts"].items():
            if key not in declared and key not in replaced:
                staying.update((n, key) for n, _role in account_numbers(obj))
        self._inventory_conflicts(declared, staying)
        if not staying:  # every account on the platform is declared: no number is held by one that stays
            return
        for key, entry in declared.items():
            for number, _role in account_numbers(entry.obj):
                if number in staying:
                    self.problem(entry, "number" if number == key else "additional_numbers",
                                 "%r is linked to account %s on the platform, which is not in the declared state"
                                 % (number, staying[number]), "a number belongs to at most one account")

    def _inventory_conflicts(self, declared, staying):
        """In merged mode the number inventory on the platform stays too: a declared inventory change must not
        leave an undeclared account on an inactive number or another group's number, and a declared account
        is held to the inventory rows that only the platform has."""
        accounts = self.actual.objects["accounts"]
        for entry in self.declared.entries["numbers"]:
            holder = staying.get(entry.key)
            if holder is None:
                continue
            if entry.obj["state"] != "active":
                self.problem(entry, "state", "number %r is linked to account %s on the platform, which is not in the "
                             "declared state: it cannot become inactive" % (entry.key, holder),
                             "only an active number can be linked to an account")
            if entry.obj["group"] and entry.obj["group"] != accounts[holder]["group"]:
                self.problem(entry, "group", "number %r is linked to account %s of group %r on the platform, which is "
                             "not in the declared state: it cannot move to group %r"
                             % (entry.key, holder, accounts[holder]["group"], entry.obj["group"]),
                             "a number is used in its own group")
        inventory = self.actual.objects["numbers"]
        platform_only = inventory.keys() - self.declared.objects("numbers").keys()
        if not platform_only:  # the usual case: the whole inventory is declared, no account to look at
            return
        fields = {"primary": "number", "secondary": "secondary_number", "additional": "additional_numbers"}
        for entry in declared.values():
            for number, role in account_numbers(entry.obj):
                if number not in platform_only:
                    continue
                listed = inventory[number]
                if listed["state"] != "active":
                    self.problem(entry, fields[role], "number %r is inactive in the number inventory on the platform"
                                 % number, "only an active number can be linked to an account")
                if listed.get("group") and listed["group"] != entry.obj["group"]:
                    self.problem(entry, fields[role], "number %r belongs to group %r on the platform, not %r"
                                 % (number, listed["group"], entry.obj["group"]), "a number is used in its own group")


def generate_username(taken):
    while True:
        candidate = str(10 ** 9 + secrets.randbelow(9 * 10 ** 9))
        if candidate not in taken:
            return candidate


@paused()  # drift plans outside engine.run (collector.py)
def make_plan(declared, actual, domain, mode, passwords):
    return Planner(declared, actual, domain, mode, passwords).plan()
