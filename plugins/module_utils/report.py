# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run tells: counts, per-object diffs and the plan file. Secrets are masked here, once."""

from __future__ import annotations

import datetime
import os

from . import unmanaged
from .errors import SwitchboardError
from .json_text import compact_bytes
from .model import declared_form

MASK = "********"
KEEP_PLAN_FILES = 50  # the newest plan files kept in the report directory


def _shown(obj, change):
    if obj is None:
        return None
    shown = declared_form(obj)
    if change.kind == "accounts":
        # A password is only ever stated as having changed; its value and HA1 never leave the engine.
        shown["password"] = MASK + (" (changed)" if obj is change.after and "password" in change.fields else "")
    return shown


def describe(change):
    entry = {"address": change.address, "action": change.action, "fields": change.fields}
    if change.action == "delete" and change.kind == "accounts":
        entry["steps"] = ["disable", "delete"]
    if change.action == "replace":
        entry["replaces"] = "accounts/%s" % change.replaces[0]
        entry["steps"] = ["disable old", "delete old", "create"]
    entry["before"] = _shown(change.before, change)
    entry["after"] = _shown(change.after, change)
    if change.kamailio:  # Kamailio's rows drifted: the facts an operator checks, in words
        entry["before"]["kamailio"], entry["after"]["kamailio"] = (dict(facts) for facts in change.kamailio)
    if change.rows and change.kind == "accounts":
        entry["removes"] = unmanaged.removed(change.rows)
        if entry["before"] is not None:  # what the diff shows going away
            entry["before"].setdefault("kamailio", {})["stray rows"] = ["%(row)s: %(reason)s" % r for r in entry["removes"]]
    if change.file:
        entry["declared_at"] = "%s: %s" % (change.file, change.path)
    return entry


def summary(changes):
    counts = {}
    for change in changes:
        kind = counts.setdefault(change.kind, {})
        kind[change.action] = kind.get(change.action, 0) + 1
    return counts


def ansible_diff(descriptions, limit):
    """Ansible's diff format: one before/after pair per changed object (the first ``limit``)."""
    import yaml

    def text(obj):
        return yaml.safe_dump(obj, default_flow_style=False, sort_keys=True) if obj is not None else ""

    return [{"before_header": d["address"], "after_header": "%s (%s)" % (d["address"], d["action"]),
             "before": text(d["before"]), "after": text(d["after"])} for d in descriptions[:limit]]


def default_report_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "switchboard", "reports")


def plan_file_path(report_dir):
    """Where this run's plan file goes (named by the time, UTC)."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    return os.path.join(report_dir or default_report_dir(), "plan-%s.json" % stamp)


def write_plan_file(path, descriptions, counts, meta, keep=KEEP_PLAN_FILES):
    """Owner-only: a plan names people (owner, e-mail) even though it holds no secret.
    Only the newest ``keep`` plan files stay (this one included); 0 keeps them all."""
    report_dir = os.path.dirname(path)
    try:
        os.makedirs(report_dir, mode=0o700, exist_ok=True)
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
            handle.write(compact_bytes(dict(meta, summary=counts, changes=descriptions)))
    except OSError as exc:
        raise SwitchboardError("cannot write the plan report to %r: %s" % (path, exc.strerror))
    _prune_plan_files(report_dir, keep)


# The task output: the counts above and the changes, in sentences an operator reads at a glance.
NAMED = 10  # objects named per line; the plan file names them all
ACTIONS = (("create", "created"), ("replace", "replaced"), ("update", "updated"), ("delete", "deleted"))
NOUNS = (("accounts", "account"), ("groups", "group"), ("numbers", "number"), ("devices", "device"),
         ("networks", "network list"), ("provisioning_profiles", "provisioning profile"),
         ("trusted_peers", "trusted peer"), ("kamailio", "stray Kamailio row"))


def counted(count, singular, plural=None):
    return "%d %s" % (count, singular if count == 1 else plural or singular + "s")


def joined(items):
    return items[0] if len(items) == 1 else "%s and %s" % (", ".join(items[:-1]), items[-1])


def named(names, limit=NAMED, more=""):
    """'a, b and c', or the first ``limit`` then 'and 54 more' (and what ``more`` adds: ': see the plan file')."""
    if len(names) <= limit:
        return joined(names)
    return "%s and %d more%s" % (", ".join(names[:limit]), len(names) - limit, more)


def summary_sentence(counts, check_mode):
    """'created 2 accounts and 1 group, updated 1 group', from summary()'s counts."""
    parts = []
    for action, done in ACTIONS:
        kinds = [counted(counts[kind][action], noun) for kind, noun in NOUNS if action in counts.get(kind, {})]
        if kinds:
            parts.append("%s %s" % (action if check_mode else done, joined(kinds)))
    if not parts:
        return "no change%s: the platform matches the declared state" % (" planned" if check_mode else "")
    if check_mode:
        return "would %s (check mode: nothing was written)" % ", ".join(parts)
    return ", ".join(parts)


def summary_text(changes, counts, check_mode, plan_file):
    """The lines the playbooks print: the sentence, then per action and kind the objects it touched."""
    keys = {}
    for change in changes:
        keys.setdefault((change.action, change.kind), []).append(change.key)
    lines = [summary_sentence(counts, check_mode)]
    for action, done in ACTIONS:
        for kind, noun in NOUNS:
            touched = keys.get((action, kind))
            if touched:
                lines.append("%s %s: %s" % ("would " + action if check_mode else done, noun if len(touched) == 1 else noun + "s",
                                            named(touched, more=": see the plan file")))
    lines.append("full plan (every change, secrets masked): %s" % plan_file)
    return lines


def _prune_plan_files(report_dir, keep):
    """The names sort by time (UTC stamps); a file another run removes first is no matter."""
    if keep <= 0:
        return
    plans = sorted(name for name in os.listdir(report_dir) if name.startswith("plan-") and name.endswith(".json"))
    for name in plans[:-keep]:
        try:
            os.unlink(os.path.join(report_dir, name))
        except OSError:
            pass
