# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kamailio rows no account owns (pbx/kamailio_rows.py finds them): which the declared state repairs in
any mode, which overridden mode removes, which merged mode only reports. Pure, no I/O."""

from __future__ import annotations

KIND = "kamailio"
WARNING_EXAMPLES = 5
# How an account's change names the rows it removes before writing its own.
CLAIMED_FIELDS = {"subscriber": "stale subscriber row", "dbaliases": "number aliases", "grp": "stale group row",
                  "usr_preferences": "stale preference row"}


def claim(rows, usernames, numbers):
    """Rows the declared state owns go to the declared account that owns them: a number it declares
    (a second alias target of that number) or its username (stale rows where its own rows go).
    usernames, numbers: {username or number: declared account key}. Returns ({account key: [rows]}, rest)."""
    claimed, rest = {}, []
    for row in rows:
        owner = numbers.get(row.number) if row.number else None
        owner = owner or (usernames.get(row.username) if row.username else None)
        if owner:
            claimed.setdefault(owner, []).append(row)
        else:
            rest.append(row)
    return claimed, rest


def claimed_fields(rows):
    return sorted({CLAIMED_FIELDS[r.table] for r in rows})


def grouped(rows):
    """[(key, [rows])]: one change per table and name@domain, in a stable order."""
    groups = {}
    for row in rows:
        groups.setdefault(row.key, []).append(row)
    return sorted(groups.items())


def reasons(rows):
    return sorted({r.reason for r in rows})


def shown(rows):
    return {"rows": sorted(r.shown for r in rows)}


def removed(rows):
    """What a change removes first, for the plan file."""
    return [{"address": "%s/%s" % (KIND, r.key), "row": r.shown, "reason": r.reason}
            for r in sorted(rows, key=lambda r: (r.key, r.shown))]


def merged_warning(rows):
    groups = grouped(rows)
    listed = "; ".join("%s/%s (%s)" % (KIND, key, ", ".join(reasons(group))) for key, group in groups[:WARNING_EXAMPLES])
    if len(groups) > WARNING_EXAMPLES:
        listed += "; and %d more: see platform_info's unmanaged section" % (len(groups) - WARNING_EXAMPLES)
    return "%d Kamailio row%s that no account owns stay%s in merged mode (overridden mode removes them): %s" % (
        len(rows), "" if len(rows) == 1 else "s", "s" if len(rows) == 1 else "", listed)
