# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report as JUnit XML for CI: a testsuite per kind, a testcase per object (classname = kind, name = address).

Drift is a <failure> (message: the machine reason and the changed fields), an object that could not be read an
<error> (never drift, as the exit code says), ignored drift <skipped> with the operator's reason. The shape is the
Apache Ant JUnit schema's (tests/support/junit.xsd), which GitLab, Jenkins and GitHub's reporters all read."""

from __future__ import annotations

import re

from . import words
from .model import DRIFT

# XML 1.0 cannot carry most control characters at all, even escaped: a value read from a device must not break the
# file, so they become U+FFFD. One translation per value that needs one (saxutils' chain of replaces is 4x slower).
_UNUSABLE = dict.fromkeys([c for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)] + list(range(0xD800, 0xE000))
                          + [0xFFFE, 0xFFFF], "\ufffd")
_TEXT = str.maketrans(dict(_UNUSABLE, **{"&": "&amp;", "<": "&lt;", ">": "&gt;"}))
_ATTRIBUTE = str.maketrans(dict(
    _UNUSABLE, **{"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}))


_SPECIAL = re.compile("[&<>\"\\x00-\\x1f\\ud800-\\udfff\\ufffe\\uffff]")  # most values have none: translate only those


def _text(value):
    return value.translate(_TEXT) if _SPECIAL.search(value) else value


def _attribute(value):
    return '"%s"' % (value.translate(_ATTRIBUTE) if _SPECIAL.search(value) else value)


def render(model):
    context = model["context"]
    timestamp = (context.get("generated_at") or "1970-01-01T00:00:00")[:19]  # the schema forbids a zone or fraction
    operator = context.get("operator") or ""
    hostname = operator.rpartition("@")[2] or "localhost"
    suites = [_suite(index, kind, objects, model["report"], timestamp, hostname)
              for index, (kind, objects) in enumerate(words.by_kind(model["objects"]).items())]
    return '<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n%s</testsuites>\n' % "".join(suites)


def outcome(obj):
    """'failure', 'error', 'skipped' or None (passed) for one object."""
    if obj["status"] == "unreadable":
        return "error"
    if obj["ignored"]:
        return "skipped"
    return "failure" if obj["status"] in DRIFT else None


def _suite(index, kind, objects, report, timestamp, hostname):
    outcomes = [outcome(obj) for obj in objects]
    cases = "".join(_case(obj, found) for obj, found in zip(objects, outcomes))
    return ('<testsuite name=%s package=%s id="%d" timestamp="%s" hostname=%s tests="%d" failures="%d" errors="%d" '
            'skipped="%d" time="0">\n<properties><property name="report" value=%s/></properties>\n%s'
            '<system-out/>\n<system-err/>\n</testsuite>\n') % (
        _attribute(kind), _attribute("switchboard.%s" % report), index, timestamp, _attribute(hostname), len(objects),
        outcomes.count("failure"), outcomes.count("error"), outcomes.count("skipped"), _attribute(report), cases)


def _case(obj, found):
    opening = '<testcase classname=%s name=%s time="0"' % (_attribute(obj["kind"]), _attribute(obj["address"]))
    if found is None:
        return opening + "/>\n"
    if found == "skipped":
        body = '<skipped message=%s/>' % _attribute(obj["ignored"])
    else:
        body = '<%s message=%s type="%s">%s</%s>' % (
            found, _attribute(_message(obj)), obj["status"], _text(_details(obj)), found)
    return "%s>%s</testcase>\n" % (opening, body)


def _message(obj):
    """The machine reason and the changed fields: 'fields_differ: owner, email'."""
    if obj["status"] == "unreadable":
        return words.why(obj)
    reason = obj["reason"] or obj["status"]
    return "%s: %s" % (reason, ", ".join(obj["fields"])) if obj["fields"] else reason


def _details(obj):
    lines = ["%s: %s -> %s" % change for change in words.field_changes(obj)]
    if not lines and words.whole(obj):
        lines = [words.whole(obj)]
    if obj["detail"]:
        lines.append(obj["detail"])
    if obj["declared_at"]:
        lines.append("declared at %s" % obj["declared_at"])
    return "\n".join(lines)
