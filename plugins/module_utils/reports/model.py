# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one report model that plans and drift reports share; JSON, Markdown, HTML and JUnit render it.

A model is a plain dict (it is the JSON rendering, schemas/report.schema.json):

    {"format_version": 1, "report": "plan" | "drift",
     "context": {...},                      # when, against which platform, from which state (git commit, author)
     "summary": {"total", "in_sync", "changed", "missing", "unmanaged", "unreadable", "ignored", "drift",
                 "coverage", "exit_code", "actions": {"create": n, ...}, "by_kind": {kind: {status: n}}},
     "objects": [{"address", "kind", "key", "status", "actions", "reason", "fields", "before", "after",
                  "declared_at", "detail", "ignored"}]}

Statuses (driftctl's words): in_sync, changed (which fields), missing (declared, absent), unmanaged (present,
undeclared), unreadable (could not be read: an error, never drift). ``ignored`` holds the reason an operator
accepted an object's drift; ignored objects keep their status but are not counted as drift.
Coverage is driftctl's: of the objects found on the platform, the share the state declares,
(in_sync + changed) / (in_sync + changed + unmanaged), 100.0 when the platform holds nothing.
Secrets never reach a model: before/after come from report.describe, which masks them."""

from __future__ import annotations

FORMAT_VERSION = 1
STATUSES = ("in_sync", "changed", "missing", "unmanaged", "unreadable")
DRIFT = ("changed", "missing", "unmanaged")
ACTIONS = ("create", "update", "replace", "delete")
EXIT_IN_SYNC, EXIT_ERROR, EXIT_DRIFT = 0, 1, 2  # Terraform's -detailed-exitcode, for plan and drift alike

# A plan's action in drift's words, and the machine reason a pipeline can match on.
STATUS_OF_ACTION = {"create": "missing", "update": "changed", "replace": "changed", "delete": "unmanaged"}
REASON_OF_ACTION = {"create": "declared_not_on_platform", "update": "fields_differ",
                    "delete": "on_platform_not_declared"}
REPLACE_REASONS = ("number", "username", "secondary_number")  # the first that changed names the reason


def entry(address, status, actions=(), reason=None, fields=(), before=None, after=None, declared_at=None,
          detail=None, ignored=None):
    """One object of a report. ``address`` is kind/key, stable across runs (accounts/+390212345601)."""
    if status not in STATUSES:
        raise ValueError("unknown status %r" % status)
    kind, _slash, key = address.partition("/")
    return {"address": address, "kind": kind, "key": key, "status": status, "actions": list(actions),
            "reason": reason, "fields": list(fields), "before": before, "after": after, "declared_at": declared_at,
            "detail": detail, "ignored": ignored}


def build(report, objects, context):
    """The model of ``report`` ('plan' or 'drift') over ``objects`` (entry() dicts), objects sorted by address."""
    objects = sorted(objects, key=lambda o: o["address"])
    return {"format_version": FORMAT_VERSION, "report": report, "context": dict(context),
            "summary": summarize(objects), "objects": objects}


def summarize(objects):
    counts = dict.fromkeys(STATUSES, 0)
    actions = dict.fromkeys(ACTIONS, 0)
    by_kind = {}
    ignored = drift = 0
    for obj in objects:
        counts[obj["status"]] += 1
        kind = by_kind.setdefault(obj["kind"], dict.fromkeys(STATUSES, 0))
        kind[obj["status"]] += 1
        for action in obj["actions"]:
            actions[action] += 1
        if obj["ignored"]:
            ignored += 1
        elif obj["status"] in DRIFT:
            drift += 1
    found = counts["in_sync"] + counts["changed"] + counts["unmanaged"]
    coverage = round(100.0 * (counts["in_sync"] + counts["changed"]) / found, 2) if found else 100.0
    summary = dict(counts, total=len(objects), ignored=ignored, drift=drift, coverage=coverage, actions=actions,
                   by_kind=by_kind)
    summary["exit_code"] = exit_code(summary)
    return summary


def exit_code(summary):
    """1 when anything could not be read (an error, whatever else differs), 2 for drift or changes, else 0."""
    if summary["unreadable"]:
        return EXIT_ERROR
    return EXIT_DRIFT if summary["drift"] else EXIT_IN_SYNC


def from_plan_description(description):
    """An entry from report.describe()'s dict of one planned change."""
    action = description["action"]
    reason = REASON_OF_ACTION.get(action)
    if action == "replace":
        changed = [f for f in REPLACE_REASONS if f in description["fields"]] or ["number"]
        reason = "replace_because_%s_changed" % changed[0]
    return entry(description["address"], STATUS_OF_ACTION[action], actions=[action], reason=reason,
                 fields=description["fields"], before=description["before"], after=description["after"],
                 declared_at=description.get("declared_at"))


def from_plan(descriptions, context):
    return build("plan", [from_plan_description(d) for d in descriptions], context)
