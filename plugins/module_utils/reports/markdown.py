# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as a merge-request comment: the summary first, then per kind a table of what differs.

GitHub and GitLab refuse comments over ~65,536 characters: the text stops at MAX_CHARS and says how many objects
it left out and where the full JSON is. A kind with more than FOLD_ROWS rows is folded in <details>. Objects in
sync are counted, not listed (the JSON lists them). Every value is escaped: no cell can break the table or
smuggle HTML into the comment."""

from __future__ import annotations

from . import words
from .model import ACTIONS

MAX_CHARS = 60000  # under the forges' 65,536, with room for the pipeline's own heading
FOLD_ROWS = 50
_ESCAPED = {"\\": "\\\\", "|": "\\|", "`": "\\`", "*": "\\*", "_": "\\_", "[": "\\[", "]": "\\]", "<": "&lt;",
            ">": "&gt;", "&": "&amp;", "\n": " ", "\r": " "}
_TRANSLATION = str.maketrans(_ESCAPED)
_TABLE = ("| address | status | actions | changed fields | reason |", "|---|---|---|---|---|")


def cell(text):
    return str(text).translate(_TRANSLATION)


def render(model):
    summary = model["summary"]
    lines = _summary_lines(model) + _context_lines(model["context"])
    budget = MAX_CHARS - sum(len(line) + 1 for line in lines) - 400  # room for the closing note
    left_out = 0
    for kind, objects in words.by_kind(model["objects"]).items():
        section, shown = _kind_section(kind, objects, summary["by_kind"][kind], budget)
        budget -= sum(len(line) + 1 for line in section)
        lines += section
        left_out += sum(1 for obj in objects if words.listed(obj)) - shown
    if left_out:
        lines += ["", "**%d object(s) left out** to keep this comment under the forges' size limit: the full "
                      "report, every object, is `%s.json` (the pipeline's artifact)." % (left_out, model["report"])]
    return "\n".join(lines) + "\n"


def _summary_lines(model):
    summary = model["summary"]
    _word, sentence = words.verdict(summary, model["report"])
    lines = ["## Switchboard %s: %s" % (model["report"], cell(sentence)), "", "| summary | count |", "|---|---:|"]
    lines += ["| %s | %s |" % (label, words.summary_value(summary, key)) for key, label in words.SUMMARY_ROWS]
    actions = ", ".join("%d %s" % (summary["actions"][action], action) for action in ACTIONS if summary["actions"][action])
    if actions:
        lines += ["", "Actions: %s." % actions]
    return lines


def _context_lines(context):
    return [""] + ["- **%s**: %s" % (label, cell(text)) for label, text in words.provenance_lines(context)]


def _kind_section(kind, objects, counts, budget):
    """The lines of one kind, and how many of its listed objects fit in ``budget`` characters."""
    listed = words.listed_rows(objects)
    in_sync = sum(1 for obj in objects if not words.listed(obj))
    heading = ["", "### %s (%s)" % (cell(kind), words.kind_counts(counts))]
    if in_sync:
        heading.append("%d in sync, not listed." % in_sync)
    rows = _fitting(listed, budget - sum(len(line) + 1 for line in heading) - 200)
    if not rows:
        return heading, 0
    table = list(_TABLE) + rows
    if len(listed) > FOLD_ROWS:
        table = ["<details><summary>%d object(s) of %s: show</summary>" % (len(listed), cell(kind)), ""] + table + [
            "", "</details>"]
    return heading + [""] + table, len(rows)


def _fitting(objects, budget):
    """The rows of ``objects`` that fit in ``budget`` characters (rows past it are not even built)."""
    rows = []
    for obj in objects:
        row = _row(obj)
        budget -= len(row) + 1
        if budget < 0:
            break
        rows.append(row)
    return rows


def _row(obj):
    fields = ", ".join(obj["fields"])
    return "| %s | %s | %s | %s | %s |" % (cell(obj["address"]), words.STATUS_LABELS[obj["status"]] + (
        " (ignored)" if obj["ignored"] else ""), ", ".join(obj["actions"]), cell(fields), cell(words.why(obj)))
