# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A saved plan (`switchboard plan --out`) and the check that it still holds (`switchboard apply --plan`).

A saved plan is the report model of the plan plus ``apply_check``: what the plan was made from, as digests:
the declared state, and per planned object the actual object it was planned against (its Kamailio rows
included) and what it was to become. Under the write lock, apply plans again and goes on only when every
digest, action and field list is what was saved; else it names what moved and writes nothing.

No digest covers a secret or anything a secret could be brute-forced from: passwords are not part of the
declared objects (model.Entry keeps them apart), Kamailio rows are digested as their facts in words
(plan.kamailio_facts, without HA1), stray rows as their shown form. A password changed since the plan is
caught by planning again (the account then plans a `password` change, or no longer does)."""

from __future__ import annotations

import dataclasses
import hashlib
import json

from .errors import SwitchboardError
from .plan import kamailio_facts
from .unmanaged import KIND as STRAY_ROWS

CHECK_VERSION = 1
NAMED = 20  # moves named in the refusal; the rest counted


class PlanMoved(SwitchboardError):
    """The saved plan no longer holds: nothing was written."""


def _canonical(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def digest(value):
    return "sha256:" + hashlib.sha256(_canonical(value).encode("utf-8")).hexdigest()


def declared_digest(declared):
    """The declared state's objects (never their passwords) and each object's allow_replace, hashed one object at a
    time: at 100k accounts one JSON text of them all would cost a hundred megabytes."""
    hashed = hashlib.sha256()
    for kind in sorted(declared.entries):
        for entry in sorted(declared.entries[kind], key=lambda entry: entry.key):
            hashed.update(_canonical([kind, entry.key, entry.obj, entry.allow_replace]).encode("utf-8"))
            hashed.update(b"\n")
    return "sha256:" + hashed.hexdigest()


class ActualDigests:
    """Digests of the actual objects a plan was made against; the stray Kamailio rows are indexed once (per key, and
    per username for the rows in an account's way), so that a plan of 100k objects costs 100k lookups."""

    def __init__(self, actual):
        self.actual = actual
        self.stray_by_key, self.stray_by_username = {}, {}
        for row in actual.unknown_rows:
            self.stray_by_key.setdefault(row.key, []).append(dataclasses.asdict(row))
            if row.username:
                self.stray_by_username.setdefault(row.username, []).append(row.shown)

    def of(self, kind, key):
        """The actual object at ``kind/key`` as the plan saw it, or None when the platform has none."""
        if kind == STRAY_ROWS:
            rows = self.stray_by_key.get(key)
            return digest(rows) if rows else None
        obj = self.actual.objects.get(kind, {}).get(key)
        if obj is None:
            return None
        if kind != "accounts":
            return digest(obj)
        username = obj["username"]
        return digest([obj, kamailio_facts(self.actual.pbx.get(username)),
                       sorted(self.stray_by_username.get(username, []))])


def after_digest(description):
    """What an object was to become, as the plan showed it."""
    return digest(comparable_after(description["address"], description["action"], description["after"]))


def comparable_after(address, action, after):
    """``after`` without the username generated for a new account: every plan draws it again (a declared username
    is in the declared digest)."""
    if after is not None and address.startswith("accounts/") and action in ("create", "replace"):
        return {k: v for k, v in after.items() if k != "username"}
    return after


def apply_check(declared, actual, descriptions, platform):
    """The ``apply_check`` section of a saved plan. ``platform``: {sip_domain, mode, database} it was made for."""
    objects, digests = {}, ActualDigests(actual)
    for description in descriptions:
        kind, _slash, key = description["address"].partition("/")
        objects[description["address"]] = {"action": description["action"], "fields": list(description["fields"]),
                                           "actual": digests.of(kind, key),
                                           "after": after_digest(description)}
    return {"version": CHECK_VERSION, "platform": platform, "declared": declared_digest(declared), "objects": objects}


def moves(saved, now, saved_objects, now_objects, declared):
    """What differs between a saved plan and the plan made now, in sentences (empty: the plan holds).
    ``saved``/``now``: apply_check sections; ``*_objects``: {address: report model object} to name fields."""
    if saved.get("version") != CHECK_VERSION:
        return ["the plan file has no apply check of version %d (made by another release?)" % CHECK_VERSION]
    found = ["the plan was made for %s %r, this run is for %r" % (what.replace("_", " "), saved["platform"].get(what),
                                                                  now["platform"].get(what))
             for what in ("sip_domain", "mode", "database") if saved["platform"].get(what) != now["platform"].get(what)]
    for address in sorted(set(saved["objects"]) | set(now["objects"])):
        was, is_ = saved["objects"].get(address), now["objects"].get(address)
        sentence = _moved(address, was, is_, saved_objects.get(address), now_objects.get(address), declared)
        if sentence:
            found.append(sentence)
    if not found and saved["declared"] != now["declared"]:
        found.append("the declared state changed since the plan was made (in objects the plan does not change)")
    return found


def _moved(address, was, is_, saved_object, now_object, declared):
    if was is None:
        return "%s now needs %s, which the plan does not include" % (address, _action(is_))
    if is_ is None:
        kind, _slash, key = address.partition("/")
        if was["action"] != "delete" and kind in declared.entries and key not in declared.objects(kind):
            return "%s is no longer declared as planned" % address
        return "%s no longer needs the planned %s: it changed since the plan was made" % (address, _action(was))
    if was["actual"] != is_["actual"]:
        return "%s changed on the platform since the plan was made (%s)" % (
            address, _fields_between(saved_object, now_object, "before"))
    if was["after"] != is_["after"]:
        return "%s is declared differently than when the plan was made (%s)" % (
            address, _fields_between(saved_object, now_object, "after"))
    if (was["action"], was["fields"]) != (is_["action"], is_["fields"]):
        return "%s: the plan was %s, now it is %s" % (address, _action(was), _action(is_))
    return None


def _action(entry):
    return "%s (%s)" % (entry["action"], ", ".join(entry["fields"])) if entry["fields"] else entry["action"]


def _fields_between(saved_object, now_object, side):
    """The fields of ``side`` (before or after) that differ, as a report names them (kamailio.disabled flag)."""
    old, new = (_side(o, side) or {} for o in (saved_object, now_object))
    fields = []
    for name in sorted(set(old) | set(new)):
        if name == "kamailio" and isinstance(old.get(name), dict) and isinstance(new.get(name), dict):
            fields += ["kamailio.%s" % k for k in sorted(set(old[name]) | set(new[name]))
                       if old[name].get(k) != new[name].get(k)]
        elif old.get(name) != new.get(name):
            fields.append(name)
    return ", ".join(fields) or "in what the plan does not show"


def _side(obj, side):
    if obj is None or side == "before":
        return (obj or {}).get(side)
    return comparable_after(obj["address"], obj["actions"][0], obj["after"])


def refusal(plan_file, found):
    listed = found[:NAMED] + (["and %d more" % (len(found) - NAMED)] if len(found) > NAMED else [])
    return PlanMoved("the saved plan %s no longer holds, nothing was written: %s; plan again"
                     % (plan_file, "; ".join(listed)))
