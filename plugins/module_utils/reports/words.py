# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the Markdown, HTML and JUnit renderings say alike: the summary's rows, the verdict in words, the objects
grouped by kind, a changed field's before and after. One wording, so the renderings cannot disagree."""

from __future__ import annotations

import json
import re

from .model import EXIT_DRIFT, EXIT_ERROR

# The summary's rows, in the order every rendering shows them: (key in model["summary"], label).
SUMMARY_ROWS = (("total", "objects"), ("in_sync", "in sync"), ("changed", "changed"), ("missing", "missing"),
                ("unmanaged", "unmanaged"), ("unreadable", "unreadable"), ("ignored", "ignored (accepted drift)"),
                ("drift", "drift"), ("coverage", "coverage %"), ("exit_code", "exit code"))
STATUS_LABELS = {"in_sync": "in sync", "changed": "changed", "missing": "missing", "unmanaged": "unmanaged",
                 "unreadable": "unreadable"}
ABSENT = "(absent)"  # a field path that one side does not have
_PATH_PART = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def verdict(summary, report):
    """The exit code in words, as a pipeline's reader needs it: (short word, sentence)."""
    code = summary["exit_code"]
    if code == EXIT_ERROR:
        return "error", "error (exit code 1): %d object(s) could not be read; the report is incomplete" % (
            summary["unreadable"])
    if code == EXIT_DRIFT:
        if report == "plan":
            return "drift", "changes (exit code 2): %d change(s) planned" % summary["drift"]
        return "drift", "drift (exit code 2): %d object(s) drifted" % summary["drift"]
    return "in_sync", "in sync (exit code 0): %s" % (
        "nothing to change" if report == "plan" else "the platform matches the declared state")


def summary_value(summary, key):
    return "%.2f" % summary[key] if key == "coverage" else str(summary[key])


def by_kind(objects):
    """{kind: [objects]} in the order kinds first appear (the model sorts objects by address)."""
    kinds = {}
    for obj in objects:
        kinds.setdefault(obj["kind"], []).append(obj)
    return kinds


def listed(obj):
    """Whether an object is listed row by row: everything but plain in-sync objects (those are counted)."""
    return obj["status"] != "in_sync" or bool(obj["ignored"])


# The order rows are listed in within a kind: what could not be read, then what is missing, changed, unmanaged;
# accepted drift last. So the rows a capped comment or the open part of a page shows are the ones that matter most.
_RANK = {"unreadable": 0, "missing": 1, "changed": 2, "unmanaged": 3, "in_sync": 4}


def listed_rows(objects):
    """The listed objects of one kind, most important first, by address within each status (a stable sort)."""
    return sorted((obj for obj in objects if listed(obj)), key=lambda obj: (bool(obj["ignored"]), _RANK[obj["status"]]))


def kind_counts(counts):
    """'2 changed, 1 missing' from summary.by_kind[kind]; the statuses with no object are left out."""
    return ", ".join("%d %s" % (counts[s], label) for s, label in STATUS_LABELS.items() if counts.get(s))


def why(obj):
    """The reason a reader needs first: the operator's for ignored drift, the error for what could not be read."""
    parts = [part for part in (obj["reason"], obj["detail"]) if part]
    if obj["status"] == "unreadable":
        return ": ".join(parts) or "could not be read"
    if obj["ignored"]:
        parts.append("ignored: %s" % obj["ignored"])
    return "; ".join(parts)


def value_at(obj, path):
    """The value at a field path as plan.changed_paths names it (acl[0].deny, obfuscation.key), or ABSENT."""
    for index, key in _PATH_PART.findall(path):
        try:
            obj = obj[int(index)] if index else obj[key]
        except (KeyError, IndexError, TypeError, ValueError):
            return ABSENT
    return obj


def shown(value):
    """A field's value as text: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def field_changes(obj):
    """[(path, before, after)] of an object's changed fields, as text."""
    return [(path, shown(value_at(obj["before"], path)), shown(value_at(obj["after"], path))) for path in obj["fields"]]


def whole(obj):
    """What a create or a delete shows instead of fields: the side that exists, as compact JSON."""
    side = obj["after"] if obj["after"] is not None else obj["before"]
    return "" if side is None else shown(side)


def provenance_lines(context):
    """[(label, text)] of where the report comes from, in the order an auditor reads them."""
    state = context.get("state") or {}
    git = state.get("git")
    platform = context.get("platform") or {}
    if git:
        commit = "%s by %s, %s%s (%s)" % (git["commit"], git["author"], git["committed_at"],
                                          ", with uncommitted local edits" if git["dirty"] else "", git["subject"])
    else:
        commit = "not a git work tree: no commit to sign"
    return [("state", state.get("dir") or "(unknown)"), ("git commit", commit),
            ("generated at", context.get("generated_at") or "(unknown)"),
            ("platform", "%s, database %s" % (platform.get("sip_domain") or "(unknown)",
                                              database_words(platform.get("database")))),
            ("mode", context.get("mode") or "(unknown)"), ("operator", context.get("operator") or "(unknown)"),
            ("tool", context.get("tool") or "(unknown)")]


def database_words(database):
    if not database:
        return "(unknown)"
    if database.get("engine") == "sqlite":
        return "sqlite %s" % database.get("path")
    return "%s %s@%s:%s/%s" % (database.get("engine"), database.get("user"), database.get("host"),
                               database.get("port"), database.get("database"))
