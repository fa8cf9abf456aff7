# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A saved report (plan.json, drift.json) read back to be rendered again, refused unless it is one this code wrote.

Checked in order: JSON, a format_version this code renders, the published schema (schemas/report.schema.json: a
password in clear is refused, never rendered), and a summary its objects give (an edited file would show counts
that its objects do not carry). Every refusal names the file, the path inside it and the rule; none repeats a value
from a before/after (where a secret in clear would be)."""

from __future__ import annotations

import functools
import json
import os

from ..errors import SwitchboardError
from . import model

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "schemas", "report.schema.json")
SCHEMA_RULE = "schemas/report.schema.json"
SECRET_KEYS = ("password", "token", "secret")
MESSAGE_CHARS = 200
# jsonschema_rs's error kinds, in words, for a complaint inside a before/after (where the value is not repeated).
KIND_WORDS = {"falseschema": "is not allowed in a report (an HA1 never leaves the engine)", "pattern": "is not of the required form",
              "type": "is of the wrong type"}


def load(path):
    built = _read(path)
    if not isinstance(built, dict):
        raise _refused(path, "(document)", "not a report object", "a report is the JSON a plan or drift run wrote")
    if built.get("format_version") != model.FORMAT_VERSION:
        raise _refused(path, "format_version", "%s is not a version this switchboard renders" % json.dumps(
            built.get("format_version")), "format_version must be %d (%s)" % (model.FORMAT_VERSION, SCHEMA_RULE))
    error = next(iter(_validator().iter_errors(built)), None)
    if error is not None:
        where = list(error.instance_path)
        raise _refused(path, _json_path(where) or "(document)", _words(error, where), SCHEMA_RULE)
    summary = model.summarize(built["objects"])
    if summary != built["summary"]:
        raise _refused(path, "summary", "the counts differ from the objects' (%s)" % _differences(built["summary"], summary),
                       "a report's summary is computed from its objects: the file was edited")
    return built


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise SwitchboardError("cannot read the report %r: %s" % (path, exc.strerror))
    except ValueError as exc:
        raise _refused(path, "(document)", "not JSON: %s" % exc, "a report is the JSON a plan or drift run wrote")


@functools.lru_cache(maxsize=None)
def _validator():
    try:
        import jsonschema_rs  # the reference validator takes ~10 s over 100k objects; this one a fraction of a second
    except ImportError:
        raise SwitchboardError("checking a saved report needs the Python package jsonschema-rs (requirements.txt)")

    with open(SCHEMA, encoding="utf-8") as handle:
        return jsonschema_rs.validator_for(json.load(handle))


def _refused(path, where, message, rule):
    return SwitchboardError("%s: %s: %s (rule: %s)" % (path, where, message, rule))


def _json_path(parts):
    text = ""
    for part in parts:
        text += "[%d]" % part if isinstance(part, int) else ("." if text else "") + str(part)
    return text


def _words(error, where):
    """The schema's complaint, without the value when it lies in a before/after (a secret in clear would be there)."""
    if where and where[-1] in SECRET_KEYS:
        return "a secret is only ever the mask ******** in a report"
    if "before" in where or "after" in where:
        kind = type(error.kind).__name__.lower()
        return KIND_WORDS.get(kind, "breaks the schema's %s rule" % kind)
    message = error.message
    return message if len(message) <= MESSAGE_CHARS else message[:MESSAGE_CHARS] + "..."


def _differences(saved, computed):
    return ", ".join("%s %s, objects give %s" % (key, json.dumps(saved.get(key)), json.dumps(value))
                     for key, value in computed.items() if saved.get(key) != value)
