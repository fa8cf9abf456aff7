# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift: the declared state against the actual PBX (and, when asked, the device fleet), as a report model.

There is no second comparison here: the engine plans the declared state against a snapshot in overridden mode
(engine.read_and_plan: no write lock, nothing written) and each planned change says what drifted:

    no change -> in_sync    update, replace -> changed (its fields)    create -> missing
    delete (undeclared objects, Kamailio rows no account owns) -> unmanaged
    a project row that cannot be read back -> unreadable (an error, never drift)

Server-owned fields (activation status and dates, generated usernames, the password an activated wizard account
was given) are what the plan itself never changes, so they are never drift. The fleet's side is the fleet engine
in check mode: every device read over SSH, nothing written; a device that cannot be read is unreadable.
The state's drift_ignore list marks the drift an operator accepts (drift_ignore.py)."""

from __future__ import annotations

import dataclasses

from . import engine, report
from .drift_ignore import Ignores
from .pbx.store import OBJECT_TABLES
from .plan import OVERRIDDEN
from .reports import model
from .reports.context import report_context

KIND_OF_TABLE = dict({table: kind for kind, (table, _key, _columns) in OBJECT_TABLES.items()}, sb_accounts="accounts")
FLEET = "fleet"  # the devices' own configuration, read over SSH (devices/NAME is the device's record on the PBX)
FLEET_IN_SYNC, FLEET_DIFFERS = "unchanged", "changed"
GENERATED = "(generated when created)"


def run(options, fleet_options=None):
    """(model, warnings) of a drift run. ``options``: engine.Options (its mode is ignored: drift compares as
    overridden mode would, so undeclared objects show); ``fleet_options``: fleet.reconcile.FleetOptions, or None
    to leave the fleet out. An invalid declared state raises InvalidState, as a plan would."""
    options = dataclasses.replace(options, mode=OVERRIDDEN, check_mode=True)
    declared, actual, changes, warnings = engine.read_and_plan(options, replacements_reported)
    objects = platform_objects(declared, actual, changes)
    if fleet_options is not None:
        fleet_found, told = fleet_objects(fleet_options)
        objects += fleet_found
        warnings = warnings + told
    ignores = Ignores(item for _file, _path, item in declared.drift_ignore)
    for obj in objects:
        if obj["status"] in model.DRIFT:
            ignores.apply(obj)
    warnings = warnings + ["drift_ignore: %s matched no drift (fixed meanwhile, or a typo?)" % address
                           for address in ignores.unused()]
    context = report_context(options.state_dir, options.dsn, options.sip_domain, OVERRIDDEN,
                             fleet=fleet_options is not None)
    return model.build("drift", objects, context), warnings


def replacements_reported(declared):
    """A plan refuses to replace an account (a changed number) without allow_replace; drift is no plan: it reports
    the account as changed, replace_because_number_changed, instead of failing on it."""
    entries = dict(declared.entries, accounts=[dataclasses.replace(e, allow_replace=True)
                                               for e in declared.entries["accounts"]])
    return dataclasses.replace(declared, entries=entries, _objects={})


def platform_objects(declared, actual, changes):
    """Every declared object, every undeclared one on the platform and every unreadable row, once each."""
    objects = {}
    accounts = declared.by_key("accounts")
    for change in changes:
        obj = model.from_plan_description(report.describe(change))
        obj["actions"] = []  # a drift report plans nothing (schemas/report.schema.json); its reason says what differs
        if change.kind == "accounts" and change.action in ("create", "replace") and not accounts[change.key].obj["username"]:
            obj["after"]["username"] = GENERATED  # the plan's pick is a draw, not what the PBX will hold
        objects[obj["address"]] = obj
    for kind, entries in declared.entries.items():
        for entry in entries:
            address = "%s/%s" % (kind, entry.key)
            if address not in objects:
                objects[address] = model.entry(address, "in_sync", declared_at="%s: %s" % (entry.file, entry.path))
    for damaged in actual.unreadable:  # skipped by the read: whatever the plan made of it is unknown
        address = "%s/%s" % (KIND_OF_TABLE[damaged.table], damaged.key)
        declared_at = (objects.get(address) or {}).get("declared_at")
        objects[address] = model.entry(address, "unreadable", reason="row_unreadable", detail=str(damaged),
                                       declared_at=declared_at)
    return list(objects.values())


def fleet_objects(fleet_options):
    """([entry] per declared device, warnings): the fleet engine in check mode reads every device."""
    from .fleet import reconcile  # only a fleet drift loads the SSH side

    result = reconcile.run(dataclasses.replace(fleet_options, check_mode=True))
    return [device_entry(device) for device in result["devices"]], list(result["warnings"])


def device_entry(device):
    """One device as the fleet engine reported it (passwords already masked there)."""
    address = "%s/%s" % (FLEET, device["name"])
    if device["status"] == FLEET_IN_SYNC:
        return model.entry(address, "in_sync", detail=device["address"])
    if device["status"] != FLEET_DIFFERS:  # unreachable, auth_failed, timeout, device_error, invalid
        return model.entry(address, "unreadable", reason="device_%s" % device["status"],
                           detail="%s: %s: %s" % (device["address"], device["status"], device.get("reason")))
    holds_nothing = not device["before"]["lines"] and device["after"]["lines"]
    return model.entry(address, "missing" if holds_nothing else "changed", actions=[],
                       reason="lines_absent" if holds_nothing else "device_differs", fields=device["differences"],
                       before=device["before"], after=device["after"], detail=device["address"])


def sentence(built, where=None):
    """'drift: 2 changed, 1 missing, 1 unmanaged (coverage 97.5 %)' from a drift model; ignored drift is counted
    apart, so the numbers are what still needs a decision. ``where``: the report to read for the detail."""
    counts = {status: 0 for status in model.DRIFT + ("unreadable", "ignored")}
    for obj in built["objects"]:
        if obj["ignored"]:
            counts["ignored"] += 1
        elif obj["status"] != "in_sync":
            counts[obj["status"]] += 1
    summary = built["summary"]
    drifted = ["%d %s" % (counts[status], status) for status in model.DRIFT if counts[status]]
    text = "drift: %s" % ", ".join(drifted) if drifted else "no drift: %s in sync" % report.counted(
        summary["in_sync"], "object")
    text += "".join(", %d %s" % (counts[status], status) for status in ("unreadable", "ignored") if counts[status])
    text += " (coverage %s %%)" % summary["coverage"]
    return text + (": see %s" % where if where else "")


def readable_report(paths):
    """The report a person should open first, of those written."""
    preference = (".html", ".md", ".json", ".junit.xml")
    return min(paths, key=lambda path: next(i for i, suffix in enumerate(preference) if path.endswith(suffix)))
