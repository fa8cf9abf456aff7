# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one flow: load -> validate -> read actual -> plan -> apply -> report. Every door calls this."""

from __future__ import annotations

import dataclasses
import datetime

from . import gather, model, report, rules, search
from .errors import InvalidState, Problem, SwitchboardError
from .loader import Document, parse_bytes, read_state_dir
from .parse_cache import ParseCache
from .pbx.database import connect
from .pbx.store import Writer, read_actual
from .plan import MERGED, OVERRIDDEN, make_plan
from .schema_check import schema_problems

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


def load_declared(state_dir, cache_dir=None):
    """Return (Declared, warnings) or raise InvalidState with every problem at once."""
    contents, problems = read_state_dir(state_dir)
    cache = ParseCache(cache_dir)
    documents, local = [], []
    for file, content in contents:
        key = cache.key(content)
        data = cache.get(key)
        if data is not None:
            documents.append(Document(file, data))
            continue
        document, found = parse_bytes(content, file)
        if document is None:
            problems.extend(found)
            continue
        documents.append(document)
        found = schema_problems(document)
        problems.extend(found)
        if not found:
            found = rules.local_problems(model.build([document]))
            local.extend(found)
        if not found:
            cache.put(key, document.data)
    if problems:  # not the shape the rules expect: report what is known so far
        raise InvalidState(problems + local)
    cache.prune()
    return checked(documents, local)


def validate(documents):
    """Schema and rules for documents that are not files (the one-account door)."""
    problems = [p for document in documents for p in schema_problems(document)]
    if problems:
        raise InvalidState(problems)
    return checked(documents, rules.local_problems(model.build(documents)))


def checked(documents, local_problems):
    """The rules across files, on top of each file's own; every problem at once."""
    declared = model.build(documents)
    problems, warnings = rules.check(declared)
    if problems or local_problems:
        raise InvalidState(list(local_problems) + problems)
    return declared, warnings


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
    writer.delete_accounts(leaving_accounts)
    accounts = {action: [(c.after, c.pbx) for c in by.get(("accounts", action), [])]
                for action in ("create", "replace", "update")}
    writer.write_accounts(accounts["create"] + accounts["replace"], accounts["update"])
    devices = pick("devices", "create") + pick("devices", "update")
    writer.upsert_objects("devices", pick("devices", "create"), pick("devices", "update"))
    writer.bind_channels(devices)
    for kind in ("numbers", "groups", "networks", "provisioning_profiles"):
        writer.delete_objects(kind, pick(kind, "delete", "key"))
    writer.journal(changes)


def reconcile(options, declared, warnings, select=None):
    """Plan and apply ``declared`` against the PBX; ``select`` keeps only some changes (one-object doors)."""
    db = connect(options.dsn, check_mode=options.check_mode)
    try:
        db.ensure_schema()
        actual = read_actual(db, options.sip_domain)
        changes, problems = make_plan(declared, actual, options.sip_domain, options.mode, options.passwords)
        if problems:
            raise InvalidState(problems)
        if select is not None:
            changes = [c for c in changes if select(c)]
        apply_changes(Writer(db, options.sip_domain, now()), changes)
    except BaseException:
        db.discard()
        raise
    if options.check_mode:
        db.discard()
    else:
        db.commit()
        db.close()
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
    }


def run(options):
    declared, warnings = load_declared(options.state_dir, options.cache_dir)
    return reconcile(options, declared, warnings)


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
    declared, warnings = validate([Document(ONE_ACCOUNT_SOURCE, document)])
    return reconcile(options, declared, warnings, select=lambda c: c.kind == "accounts" and c.key == number)


def model_problem(number, message):
    return Problem(ONE_ACCOUNT_SOURCE, "number", "%s: %s" % (number, message), "the account must exist")


def gathered(dsn, sip_domain, kinds, query=None):
    """The actual state in the declared format, optionally only the accounts a search matches."""
    actual = gather.read(dsn, sip_domain)
    account_filter = None
    if query:
        try:
            account_filter = search.compile_query(query)
        except ValueError as exc:
            raise SwitchboardError("query %r: %s" % (query, exc))
    state = gather.as_state(actual, kinds, account_filter)
    numbers = [a["number"] for a in state.get("accounts", [])]
    return {"changed": False, "state": state, "account_status": gather.account_status(actual, numbers)}
