# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state's ``drift_ignore`` list: drift an operator accepts, each with the reason an auditor reads.

    drift_ignore:
      - address: accounts/+390212345601      # a report address; * and ? match any characters
        fields: [owner]                      # optional: only these changed fields (and paths under them)
        reason: "owner renamed by the helpdesk, state follows in change 42"

An ignored object keeps its status but is not counted as drift. When only some of an object's changed fields
are ignored, the others still count. Pure, no I/O."""

from __future__ import annotations

import fnmatch

from .errors import Problem

RULE_REASON = "an accepted drift says why"
RULE_ONCE = "an address is ignored in one place"
WILDCARDS = "*?["


def problems(declared):
    """What the schema cannot see: a blank reason, the same address twice."""
    found, seen = [], {}
    for file, path, item in declared.drift_ignore:
        if not item["reason"].strip():
            found.append(Problem(file, path + ".reason", "is blank: say why this drift is accepted", RULE_REASON))
        first = seen.setdefault(item["address"], (file, path))
        if first != (file, path):
            found.append(Problem(file, path + ".address", "%s is already ignored at %s: %s"
                                 % (item["address"], first[0], first[1]), RULE_ONCE))
    return found


def _covers(ignored_field, field):
    """'acl' covers 'acl', 'acl[0].deny' and 'acl.x', not 'aclx'."""
    return field == ignored_field or field.startswith(ignored_field + ".") or field.startswith(ignored_field + "[")


class Ignores:
    """Looks the report's objects up in the list: exact addresses in a dict, patterns one by one (an operator
    writes a handful), so 100k objects cost 100k lookups."""

    def __init__(self, items):
        self.exact, self.patterns = {}, []
        for item in items:
            if any(c in item["address"] for c in WILDCARDS):
                self.patterns.append(item)
            else:
                self.exact[item["address"]] = item
        self.used = set()

    def matching(self, address):
        found = [self.exact[address]] if address in self.exact else []
        return found + [item for item in self.patterns if fnmatch.fnmatchcase(address, item["address"])]

    def apply(self, obj):
        """Mark one drifted report object (a reports.model entry) as accepted, wholly or in part."""
        items = self.matching(obj["address"])
        if not items:
            return obj
        self.used.update(item["address"] for item in items)
        whole = [item for item in items if not item.get("fields")]
        if whole:
            obj["ignored"] = whole[0]["reason"]
            return obj
        if obj["status"] != "changed":  # ignored fields say nothing about an object missing or undeclared
            return obj
        accepted = {field: item for field in obj["fields"] for item in items
                    if any(_covers(ignored, field) for ignored in item["fields"])}
        if not accepted:
            return obj
        remaining = [field for field in obj["fields"] if field not in accepted]
        reasons = sorted({item["reason"] for item in accepted.values()})
        if not remaining:
            obj["ignored"] = "; ".join(reasons)
            return obj
        obj["fields"] = remaining
        obj["detail"] = "ignored fields %s: %s" % (", ".join(sorted(accepted)), "; ".join(reasons))
        return obj

    def unused(self):
        """Entries that matched no drift: accepted drift that is gone (or a typo), worth a line in the output."""
        return sorted((set(self.exact) | {item["address"] for item in self.patterns}) - self.used)
