# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one flow: load -> validate -> read actual -> plan -> apply -> report. Every door calls this."""

from __future__ import annotations

import dataclasses
import datetime
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from . import declared as declared_state
from . import gather, report, search
from .errors import InvalidState, Problem, SwitchboardError
from .loader import Document
from .pbx import server
from .pbx.database import database_exists, transaction
from .pbx.store import Writer, read_actual
from .plan import MERGED, OVERRIDDEN, make_plan

DIFF_LIMIT = 200  # per-object diffs in the task output; the plan file has all of them


@dataclasses.dataclass
class Options:
    state_dir: str
    dsn: str
    sip_domain: str
    mode: str = MERGED
    passwords: dict = dataclasses.field(default_factory=dict)  # number -> clear password (vault, secrets file)
    check_mode: bool = False
    report_dir: str = None
    cache_dir: str = None
    rpc_url: str = None  # Kamailio's JSON-RPC: registrations of tightened accounts are dropped
    decrypted_files: dict = dataclasses.field(default_factory=dict)  # whole-file-vault state files, decrypted
    secrets_file: str = None  # where passwords not in the state came from, for messages


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def apply_changes(writer, changes):
    """Write the plan in an order where every reference holds at every step."""
    by = {}
    for change in changes:
        by.setdefault((change.kind, change.action), []).append(change)

    def pick(kind, action, attribute="after"):
        return [getattr(c, attribute) for c in by.get((kind, action), [])]

    for kind in ("provisioning_profiles", "networks", "groups", "numbers"):
        writer.upsert_objects(kind, pick(kind, "create"), pick(kind, "update"))
    leaving_devices = pick("devices", "delete", "key")
    writer.unbind_channels(pick("devices", "update", "key") + leaving_devices)
    writer.delete_objects("devices", leaving_devices)
    leaving_accounts = pick("accounts", "delete", "replaces") + pick("accounts", "replace", "replaces")
    writer.disable_accounts([username for _number, username in leaving_accounts])
    unbound = writer.delete_accounts(leaving_accounts)
    accounts = {action: [(c.after, c.pbx) for c in by.get(("accounts", action), [])]
                for action in ("create", "replace", "update")}
    writer.write_accounts(accounts["create"] + accounts["replace"], accounts["update"])
    # A replaced account keeps the device channels it held (an undeclared device's too).
    writer.rebind([(device, index, c.key) for c in by.get(("accounts", "replace"), [])
                   for device, index in unbound.get(c.replaces[0], [])])
    devices = pick("devices", "create") + pick("devices", "update")
    writer.upsert_objects("devices", pick("devices", "create"), pick("devices", "update"))
    writer.bind_channels(devices)
    for kind in ("numbers", "groups", "networks", "provisioning_profiles"):
        writer.delete_objects(kind, pick(kind, "delete", "key"))
    writer.journal(changes)


def reconcile(options, load_declared, select=None):
    """Plan and apply the declared state against the PBX; ``select`` keeps only some changes (one-object doors).

    ``load_declared()`` returns (Declared, warnings); it is called once the actual state is read,
    so that a load running in parallel overlaps the database read."""
    with transaction(options.dsn, options.check_mode) as db:
        actual = read_actual(db, options.sip_domain)
        declared, warnings = load_declared()
        changes, problems = make_plan(declared, actual, options.sip_domain, options.mode, options.passwords)
        if problems:
            raise InvalidState(problems)
        if select is not None:
            changes = [c for c in changes if select(c)]
        apply_changes(Writer(db, options.sip_domain, now()), changes)
    warnings = list(warnings)
    extra = {}
    if options.rpc_url:
        extra["server"], told = server.unregister(options.rpc_url, options.sip_domain,
                                                  server.usernames_to_unregister(changes), options.check_mode)
        warnings.extend(told)
    descriptions = [report.describe(c) for c in changes]
    counts = report.summary(changes)
    plan_file = report.write_plan_file(options.report_dir, descriptions, counts,
                                       {"mode": options.mode, "check_mode": options.check_mode, "at": now()})
    return {
        "changed": bool(changes),
        "summary": counts,
        "changes": ["%s %s%s" % (d["action"], d["address"], (" (%s)" % ", ".join(d["fields"])) if d["fields"] else "")
                    for d in descriptions[:DIFF_LIMIT]],
        "change_count": len(changes),
        "plan_file": plan_file,
        "warnings": warnings,
        "diff": report.ansible_diff(descriptions, DIFF_LIMIT),
        **extra,
    }


def load_arguments(options):
    return options.state_dir, options.cache_dir, options.passwords, options.decrypted_files, options.secrets_file


def run(options):
    if not database_exists(options.dsn):  # validate first: invalid input must not even create the file
        loaded = declared_state.load(*load_arguments(options))
        return reconcile(options, lambda: loaded)
    # The state files load on the second core while this process reads the database (ARCHITECTURE:
    # both cost seconds at 100k accounts). An invalid state still writes nothing: the transaction rolls back.
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        loading = pool.submit(declared_state.load, *load_arguments(options))
        return reconcile(options, loading.result)


ONE_ACCOUNT_SOURCE = "sip_account"  # how messages name the ad-hoc account in the gathered state


def reconcile_account(options, number, fields, state):
    """One account against the whole actual state: the gathered state with this account changed goes
    through the same validation and plan; only this account's changes are applied."""
    document = gather.as_state(gather.read(options.dsn, options.sip_domain))
    accounts = document["accounts"]
    current = next((a for a in accounts if a["number"] == number), None)
    wanted = {k: v for k, v in fields.items() if v is not None}
    if state == "absent":
        if current is not None:
            accounts.remove(current)
        for device in document["devices"]:  # deleting logs the extension out of its devices
            for channel in device.get("channels", []):
                if channel.get("extension") == number:
                    channel["extension"] = None
        options = dataclasses.replace(options, mode=OVERRIDDEN)
    else:
        account = dict(current or {}, **wanted)
        account["number"] = number
        if state in ("enabled", "disabled"):
            if current is None:
                raise InvalidState([model_problem(number, "cannot be %s: there is no such account" % state)])
            account["enabled"] = state == "enabled"
        if current is not None:
            accounts.remove(current)
        accounts.append(account)
    loaded = declared_state.validate([Document(ONE_ACCOUNT_SOURCE, document)])
    return reconcile(options, lambda: loaded, select=lambda c: c.kind == "accounts" and c.key == number)


def model_problem(number, message):
    return Problem(ONE_ACCOUNT_SOURCE, "number", "%s: %s" % (number, message), "the account must exist")


def gathered(dsn, sip_domain, kinds, query=None, rpc_url=None):
    """The actual state in the declared format, optionally only the accounts a search matches;
    with ``rpc_url``, which accounts are registered (connected) right now."""
    actual = gather.read(dsn, sip_domain)
    account_filter = None
    if query:
        try:
            account_filter = search.compile_query(query)
        except ValueError as exc:
            raise SwitchboardError("query %r: %s" % (query, exc))
    state = gather.as_state(actual, kinds, account_filter)
    numbers = [a["number"] for a in state.get("accounts", [])]
    status = gather.account_status(actual, numbers)
    result = {"changed": False, "state": state, "account_status": status, "warnings": []}
    if rpc_url:
        try:
            registered = server.registrations(rpc_url)
        except (server.RpcUnavailable, server.RpcError) as exc:
            result["warnings"].append("connected clients unknown: %s" % exc)
        else:
            for number, entry in status.items():
                entry["registrations"] = registered.get(actual.objects["accounts"][number]["username"], [])
                entry["connected"] = bool(entry["registrations"])
    return result
