# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SPEC rules that need only the declared state (§1-§3, §7 without devices being reached)."""

from __future__ import annotations

import re

from . import drift_ignore
from .acl import allows, parse_network
from .errors import Problem
from .model import account_numbers
from .plan import allowed_networks
from .report import counted, named


def _parse_e164(number):
    """The parsed number when it is '+', a country code and a number of a possible length there; else None."""
    import phonenumbers

    if not number.startswith("+"):
        return None
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return None
    return parsed if phonenumbers.is_possible_number(parsed) else None


def is_e164(number):
    return _parse_e164(number) is not None


# What an activation SMS cannot reach, in an operator's words. Only MOBILE and FIXED_LINE_OR_MOBILE
# (countries such as the US, where the numbering plan does not tell them apart) can receive it:
# pagers take no app, and a number in no allocated range (SPEC's own example +391234567890) reaches no phone.
NO_SMS_TYPES = {
    "FIXED_LINE": "a fixed-line number", "TOLL_FREE": "a toll-free number", "PREMIUM_RATE": "a premium-rate number",
    "SHARED_COST": "a shared-cost number", "VOIP": "a VoIP number", "PERSONAL_NUMBER": "a personal (follow-me) number",
    "PAGER": "a pager number", "UAN": "a company (UAN) number", "VOICEMAIL": "a voicemail access number",
    "UNKNOWN": "in no allocated range of its country's numbering plan",
}


def sms_unreachable(parsed):
    """None when the parsed E.164 number can receive an activation SMS, else what kind of number it is."""
    import phonenumbers
    from phonenumbers import PhoneNumberType

    kind = phonenumbers.number_type(parsed)
    if kind in (PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return None
    names = {getattr(PhoneNumberType, name): name for name in NO_SMS_TYPES}
    return NO_SMS_TYPES[names.get(kind, "UNKNOWN")]


class _Collector:
    def __init__(self):
        self.problems = []

    def add(self, entry, field, message, rule):
        path = entry.path + ("." + field if field else "")
        self.problems.append(Problem(entry.file, path, message, rule))


def _unique_keys(declared, out):
    for kind, entries in declared.entries.items():
        seen = {}
        for entry in entries:
            first = seen.setdefault(entry.key, entry)
            if first is not entry:
                out.add(entry, "", "%r is declared twice (first at %s: %s)" % (entry.key, first.file, first.path),
                        "%s are unique" % kind)


def _networks(entry, field, values, out):
    for index, value in enumerate(values):
        try:
            parse_network(value)
        except ValueError as exc:
            out.add(entry, "%s[%d]" % (field, index), "%r is not a network: %s" % (value, exc),
                    "networks are ip/netmask or CIDR")


SMS_LINK = re.compile(r"\{\{\s*link\s*(\|[^}]*)?\}\}")


def _visible(declared, kind, known):
    """The objects a reference may name: the declared ones and, in merged mode, those on the platform
    (``known``: kind -> {name: object}; they stay, because merged mode deletes nothing)."""
    if not known or not known.get(kind):
        return declared.objects(kind)
    return dict(known[kind], **declared.objects(kind))


def _trusted_peer(entry, out):
    """A trusted peer sends without authentication: its address must be exact, and never everyone."""
    address = entry.obj["address"]
    try:
        network = parse_network(address)
    except ValueError as exc:
        out.add(entry, "address", "%r is not an IP address or CIDR network: %s" % (address, exc),
                "trusted peers have an IP address or CIDR")
        return
    if network.prefixlen == 0:
        out.add(entry, "address", "%s would trust every address on the Internet" % network,
                "a trusted peer is a carrier or gateway, not a whole address family")


def _groups_and_profiles(declared, out, known):
    profiles = _visible(declared, "provisioning_profiles", known)
    for entry in declared.entries["provisioning_profiles"]:
        for stage, text in sorted((entry.obj.get("templates") or {}).items()):
            if text is not None and not SMS_LINK.search(text):
                out.add(entry, "templates.%s" % stage, "the text has no {{ link }}: the SMS would not carry the link",
                        "an SMS template carries the link")
    for entry in declared.entries["groups"]:
        group = entry.obj
        if group["provisioning_profile"] and group["provisioning_profile"] not in profiles:
            out.add(entry, "provisioning_profile", "provisioning profile %r is not declared" % group["provisioning_profile"],
                    "references must exist")
    groups = _visible(declared, "groups", known)
    for entry in declared.entries["numbers"]:
        if entry.obj["group"] and entry.obj["group"] not in groups:
            out.add(entry, "group", "group %r is not declared" % entry.obj["group"], "references must exist")


def _account_local(entry, out):
    account = entry.obj
    kind, wizard = account["type"], account["activation"] == "wizard"
    if kind == "snom":
        if account["obfuscation"] is not None:
            out.add(entry, "obfuscation", "SNOM accounts cannot have obfuscation", "obfuscation is PGSM only")
        if wizard:
            out.add(entry, "activation", "SNOM phones cannot be activated by SMS", "SNOM accounts use plain activation")
        if account["security_model"] != "sdes":
            out.add(entry, "security_model", "SNOM supports SDES only, not %r" % account["security_model"],
                    "SNOM accounts use SDES")
    elif kind != "pgsm" and account["obfuscation"] is not None:
        out.add(entry, "obfuscation", "%s accounts cannot have obfuscation" % kind, "obfuscation is PGSM only")
    if wizard:
        if kind != "pgsm":
            out.add(entry, "activation", "only PGSM mobile clients can be activated by SMS",
                    "wizard activation is for mobile clients")
        _wizard_number(entry, out)
        if entry.password is not None:
            out.add(entry, "password", "a wizard account's password is chosen by the system",
                    "wizard accounts take no password")
    if account["secondary_number"] == account["number"]:
        out.add(entry, "secondary_number", "is the same as the primary number", "a number belongs to at most one account")
    for number in account["additional_numbers"]:
        if number in (account["number"], account["secondary_number"]):
            out.add(entry, "additional_numbers", "%r is already this account's %s number"
                    % (number, "primary" if number == account["number"] else "secondary"),
                    "a number belongs to at most one account")
    for index, acl_entry in enumerate(account["acl"]):
        for action, network in acl_entry.items():
            try:
                parse_network(network)
            except ValueError as exc:
                out.add(entry, "acl[%d].%s" % (index, action), "%r is not a network: %s" % (network, exc),
                        "ACL entries are ip/netmask or CIDR")


def _wizard_number(entry, out):
    number = entry.obj["number"]
    parsed = _parse_e164(number)
    if parsed is None:
        out.add(entry, "number", "%r is not an E.164 mobile number" % number, "wizard activation needs E.164")
        return
    unreachable = sms_unreachable(parsed)
    if unreachable:
        out.add(entry, "number", "%r is %s: an activation SMS cannot reach it" % (number, unreachable),
                "wizard activation needs a mobile number")


def _account_references(entry, groups, profiles, networks, out):
    account = entry.obj
    if account["group"] not in groups:
        out.add(entry, "group", "group %r is not declared" % account["group"], "a group must exist before accounts in it")
    profile = account["provisioning_profile"]
    if account["activation"] == "wizard" and not profile:
        out.add(entry, "provisioning_profile", "no provisioning profile (none declared, none on the group)",
                "wizard activation needs a provisioning profile")
    if profile and profile not in profiles:
        out.add(entry, "provisioning_profile", "provisioning profile %r is not declared" % profile,
                "references must exist")
    elif account["activation"] == "wizard" and profile and not profiles[profile].get("base_url"):
        out.add(entry, "provisioning_profile", "provisioning profile %r has no base_url: the SMS links start with it"
                % profile, "wizard activation needs a provisioning profile with base_url")
    for name in account["restricted_networks"]:
        if name not in networks:
            out.add(entry, "restricted_networks", "network list %r is not declared" % name, "references must exist")


def _registrable(declared, out):
    """An ACL, narrowed by restricted_networks, that allows no address locks the account out for good."""
    networks = declared.objects("networks")
    verdicts = {}  # many accounts share one ACL: compile it once, with plan's own compiler
    for entry in declared.entries["accounts"]:
        account = entry.obj
        if not account["acl"] and not account["restricted_networks"]:
            continue
        if any(name not in networks for name in account["restricted_networks"]):
            continue  # reported as a reference, or resolved against the platform
        key = (tuple(item for rule in account["acl"] for item in rule.items()), tuple(account["restricted_networks"]))
        if key not in verdicts:
            verdicts[key] = _lockout(account, networks)
        if verdicts[key]:
            out.add(entry, *verdicts[key], rule="an account must be allowed to register from some address")


def _lockout(account, networks):
    """(field, message) when the account may register from nowhere, else None. One compilation per ACL
    when it allows something (the usual case); which part locks the account out is only asked then."""
    try:
        if allowed_networks(account, networks) != ():
            return None
        if not account["restricted_networks"] or allowed_networks(dict(account, restricted_networks=[]), networks) == ():
            return "acl", "the ACL denies every address: the account could never register"
    except ValueError:
        return None  # a malformed network is reported where it is written
    lists = ", ".join(repr(name) for name in account["restricted_networks"])
    if account["acl"]:
        return "restricted_networks", ("no address the ACL permits is inside network list(s) %s: "
                                       "the account could never register" % lists)
    return "restricted_networks", "network list(s) %s hold no address: the account could never register" % lists


def _account_numbers(declared, out):
    inventory = declared.objects("numbers")
    owner = {}
    for entry in declared.entries["accounts"]:
        for number, role in account_numbers(entry.obj):
            field = {"primary": "number", "secondary": "secondary_number", "additional": "additional_numbers"}[role]
            first = owner.setdefault(number, (entry, role))
            if first[0] is not entry:
                out.add(entry, field, "%r is already the %s number of %s (%s: %s)"
                        % (number, first[1], first[0].key, first[0].file, first[0].path),
                        "a number belongs to at most one account")
            listed = inventory.get(number)
            if listed is None:
                continue  # an external number, e.g. the user's own mobile
            if listed["state"] != "active":
                out.add(entry, field, "number %r is inactive in the number inventory" % number,
                        "only an active number can be linked to an account")
            if listed["group"] and listed["group"] != entry.obj["group"]:
                out.add(entry, field, "number %r belongs to group %r, not %r" % (number, listed["group"], entry.obj["group"]),
                        "a number is used in its own group")


def _usernames(declared, out):
    seen = {}
    for entry in declared.entries["accounts"]:
        username = entry.obj["username"]
        if username is None:
            continue
        first = seen.setdefault(username, entry)
        if first is not entry:
            out.add(entry, "username", "%r is already the username of %s (%s: %s)" % (username, first.key, first.file, first.path),
                    "usernames are unique")


def _devices(declared, out, known):
    groups, accounts = _visible(declared, "groups", known), declared.objects("accounts")
    bound = {}
    outside = {}  # (group, ip) -> the device's IP is outside the group's enabled IP listing: asked once per pair
    for entry in declared.entries["devices"]:
        device = entry.obj
        try:
            parse_network(device["ip"])
        except ValueError:
            out.add(entry, "ip", "%r is not an IP address" % device["ip"], "devices have an IP address")
            continue
        if device["group"] and device["group"] not in groups:
            out.add(entry, "group", "group %r is not declared" % device["group"], "references must exist")
        seen_index = set()
        for position, channel in enumerate(device["channels"]):
            field = "channels[%d]" % position
            if channel["index"] in seen_index:
                out.add(entry, field + ".index", "channel %d is declared twice" % channel["index"],
                        "a channel holds at most one extension")
            seen_index.add(channel["index"])
            number = channel["extension"]
            if number is None:
                continue
            account = accounts.get(number)
            if account is None:
                out.add(entry, field + ".extension", "extension %r is not a declared account" % number,
                        "references must exist")
                continue
            bound.setdefault(number, []).append((entry, field))
            for group_name in {device["group"], account["group"]} - {None}:
                if (group_name, device["ip"]) not in outside:
                    listing = (groups.get(group_name) or {}).get("ip_listing") or {}
                    outside[group_name, device["ip"]] = bool(listing.get("enabled")) and not allows(
                        _valid_networks(listing["allow"]), device["ip"])
                if outside[group_name, device["ip"]]:
                    out.add(entry, field + ".extension",
                            "device %s has IP %s, outside the IP listing of group %s" % (device["name"], device["ip"], group_name),
                            "group IP listing")
    for number, places in bound.items():
        limit = 2 if accounts[number]["multi_login"] else 1
        if len(places) > limit:
            for entry, field in places[limit:]:
                out.add(entry, field + ".extension",
                        "extension %s is already bound to %d channel(s) (%s)"
                        % (number, limit, ", ".join("%s: %s" % (e.file, e.path) for e, _f in places[:limit])),
                        "an extension sits on one channel, two with multi_login")


def _valid_networks(values):
    networks = []
    for value in values:
        try:
            networks.append(parse_network(value))
        except ValueError:
            pass  # reported on the group
    return networks


def local_problems(part):
    """Rules that look at one object alone: a file that passes them keeps passing, so the parse cache
    stores the file only then and they are not run again for it."""
    out = _Collector()
    for entry in part.entries["groups"]:
        _networks(entry, "ip_listing.allow", entry.obj["ip_listing"]["allow"], out)
    for entry in part.entries["networks"]:
        _networks(entry, "networks", entry.obj["networks"], out)
    for entry in part.entries["accounts"]:
        _account_local(entry, out)
    for entry in part.entries["trusted_peers"]:
        _trusted_peer(entry, out)
    return out.problems


def check(declared, known=None):
    """Rules across objects and files. Return (problems, warnings); warnings name the object, never a secret.
    ``known``: the platform's groups, provisioning profiles and networks that references may name (merged mode)."""
    out = _Collector()
    _unique_keys(declared, out)
    _groups_and_profiles(declared, out, known)
    referable = [_visible(declared, kind, known) for kind in ("groups", "provisioning_profiles", "networks")]
    for entry in declared.entries["accounts"]:
        _account_references(entry, *referable, out)
    _registrable(declared, out)
    _account_numbers(declared, out)
    _usernames(declared, out)
    _devices(declared, out, known)
    out.problems.extend(drift_ignore.problems(declared))
    return out.problems, _warnings(declared.entries["accounts"])


def _warnings(accounts):
    """One warning per kind and run, naming the first accounts: a warning per account would bury the
    output at 100k, and the same warnings come back on every run."""
    keepalive = [e.key for e in accounts if e.obj["keepalive"]]
    plain = [e.key for e in accounts if isinstance(e.password, str)]
    warnings = []
    if keepalive:
        warnings.append("keepalive is on for %s (clients older than 11.1 cannot answer it and become unreachable, "
                        "and it costs battery and traffic): %s" % (counted(len(keepalive), "account"), named(keepalive)))
    if plain:
        warnings.append("%s a plain-text password in the state (use !vault or the secrets file): %s"
                        % (counted(len(plain), "account has", "accounts have"), named(plain)))
    return warnings
