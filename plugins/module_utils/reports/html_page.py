# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as ONE self-contained HTML page for auditors: the summary and verdict first, then where it comes from
(the state's git commit and author, local edits, when, which platform, who ran it), then per kind every object
that differs, with the before and after of each changed field.

Missing objects are always listed (Microsoft365DSC's HTML drops what its JSON shows; this page lists every object
the model holds, in sync ones folded). Nothing is loaded from anywhere: inline CSS, no script, and a CSP that
forbids everything else. At 100k objects the page stays usable: per kind OPEN_ROWS rows are open, the rest is folded
in pages of PAGE_ROWS. Every text goes through html.escape."""

from __future__ import annotations

from html import escape

from . import words

OPEN_ROWS = 200
PAGE_ROWS = 1000
CSP = "default-src 'none'; style-src 'unsafe-inline'"
# The verdict's colour is the page's first signal (and what the browser test looks for on the screenshot).
VERDICT_COLOURS = {"in_sync": "#2b8a3e", "drift": "#e8590c", "error": "#c92a2a"}
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #212529; }
main { padding: 0 24px 24px; }
#summary { color: #fff; padding: 16px 24px; }
#summary h1 { margin: 0 0 4px; font-size: 22px; }
#verdict { font-size: 18px; font-weight: bold; margin: 0 0 12px; }
#summary table { border-collapse: collapse; background: rgba(255, 255, 255, 0.12); }
#summary th, #summary td { padding: 4px 12px; text-align: left; border: 1px solid rgba(255, 255, 255, 0.35); }
#summary td { text-align: center; font-size: 18px; font-variant-numeric: tabular-nums; }
%s
dl.context { display: grid; grid-template-columns: max-content auto; gap: 2px 16px; }
dl.context dt { font-weight: bold; }
dl.context dd { margin: 0; overflow-wrap: anywhere; }
table.objects { border-collapse: collapse; width: 100%%; margin: 8px 0; }
table.objects th, table.objects td { border: 1px solid #dee2e6; padding: 3px 6px; vertical-align: top; text-align: left; }
table.objects th { background: #f1f3f5; }
td.address, td.whole { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
small.declared { font-family: system-ui, sans-serif; color: #495057; }
table.diff td { border: 0; padding: 0 6px 0 0; font-family: ui-monospace, monospace; }
del { background: #ffe3e3; text-decoration: line-through; }
ins { background: #d3f9d8; text-decoration: none; }
.status-changed { color: #e8590c; } .status-missing { color: #c2255c; } .status-unmanaged { color: #6741d9; }
.status-unreadable { color: #c92a2a; font-weight: bold; } .status-in_sync { color: #2b8a3e; }
tr.ignored { background: #f8f9fa; color: #868e96; }
details { margin: 6px 0; } summary { cursor: pointer; font-weight: bold; }
ol.in-sync { columns: 3 20em; font-family: ui-monospace, monospace; }
""" % "\n".join("#summary.verdict-%s { background: %s; }" % item for item in VERDICT_COLOURS.items())


def render(model):
    summary = model["summary"]
    word, sentence = words.verdict(summary, model["report"])
    title = "Switchboard %s report: %s" % (model["report"], sentence)
    parts = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
             '<meta http-equiv="Content-Security-Policy" content="%s">\n' % CSP,
             '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
             "<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n" % (escape(title), STYLE),
             _summary(model, word, sentence), "<main>\n", _context(model["context"]), _kinds_index(summary)]
    for kind, objects in words.by_kind(model["objects"]).items():
        parts.append(_kind(kind, objects, summary["by_kind"][kind]))
    parts.append("</main>\n</body>\n</html>\n")
    return "".join(parts)


def _summary(model, word, sentence):
    summary = model["summary"]
    labels = "".join('<th scope="col">%s</th>' % escape(label) for _key, label in words.SUMMARY_ROWS)
    values = [(key, words.summary_value(summary, key)) for key, _label in words.SUMMARY_ROWS]
    counts = "".join('<td id="count-%s" data-count="%s">%s</td>' % (key, value, value) for key, value in values)
    return ('<header id="summary" class="verdict-%s">\n<h1>Switchboard %s report</h1>\n'
            '<p id="verdict" data-exit-code="%d">%s</p>\n<table class="counts"><tr>%s</tr>\n<tr>%s</tr></table>\n'
            '</header>\n') % (word, escape(model["report"]), summary["exit_code"], escape(sentence), labels, counts)


def _context(context):
    rows = "".join("<dt>%s</dt><dd>%s</dd>" % (escape(label), escape(text))
                   for label, text in words.provenance_lines(context))
    return '<section id="context">\n<h2>Context</h2>\n<dl class="context">%s</dl>\n</section>\n' % rows


def _kinds_index(summary):
    items = "".join('<li><a href="#kind-%s">%s</a>: %s</li>' % (escape(kind), escape(kind), words.kind_counts(counts))
                    for kind, counts in sorted(summary["by_kind"].items()))  # the order of the sections below
    return '<nav id="kinds"><h2>Objects by kind</h2><ul>%s</ul></nav>\n' % items


def _kind(kind, objects, counts):
    listed = words.listed_rows(objects)
    in_sync = [obj["address"] for obj in objects if not words.listed(obj)]
    parts = ['<section class="kind" id="kind-%s">\n<h2>%s <small>%s</small></h2>\n' % (
        escape(kind), escape(kind), words.kind_counts(counts))]
    if listed:
        parts.append('<details class="objects" open><summary>%d object(s) that differ, are ignored or could not be '
                     'read</summary>\n%s</details>\n' % (len(listed), _table(listed[:OPEN_ROWS])))
    for start in range(OPEN_ROWS, len(listed), PAGE_ROWS):
        page = listed[start:start + PAGE_ROWS]
        parts.append('<details class="objects page"><summary>objects %d to %d of %d (folded)</summary>\n%s</details>\n'
                     % (start + 1, start + len(page), len(listed), _table(page)))
    for start in range(0, len(in_sync), PAGE_ROWS):
        page = in_sync[start:start + PAGE_ROWS]
        parts.append('<details class="in-sync"><summary>in sync: %d to %d of %d (folded)</summary>\n'
                     '<ol class="in-sync" start="%d">%s</ol></details>\n' % (
                         start + 1, start + len(page), len(in_sync), start + 1,
                         "".join("<li>%s</li>" % escape(address) for address in page)))
    parts.append("</section>\n")
    return "".join(parts)


def _table(objects):
    return ('<table class="objects"><thead><tr><th>address</th><th>status</th><th>actions</th>'
            '<th>changed fields: before → after</th><th>reason</th></tr></thead>\n<tbody>\n%s</tbody></table>\n') % (
        "".join(_row(obj) for obj in objects))


def _row(obj):
    status = obj["status"]
    label = words.STATUS_LABELS[status] + (" (ignored)" if obj["ignored"] else "")
    declared = '<br><small class="declared">declared at %s</small>' % escape(obj["declared_at"]) if obj["declared_at"] else ""
    return '<tr class="%s"><td class="address">%s%s</td><td class="status-%s">%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n' % (
        "ignored" if obj["ignored"] else status, escape(obj["address"]), declared, status, label,
        escape(", ".join(obj["actions"])), _changes(obj), escape(words.why(obj)))


def _changes(obj):
    """The before → after of each changed field; a create or a delete shows the object that exists."""
    if not obj["fields"]:
        text = words.whole(obj)
        return '<code class="whole">%s</code>' % escape(text) if text else ""
    rows = "".join("<tr><td>%s</td><td><del>%s</del></td><td><ins>%s</ins></td></tr>" % (
        escape(path), escape(before), escape(after)) for path, before, after in words.field_changes(obj))
    return '<table class="diff">%s</table>' % rows
