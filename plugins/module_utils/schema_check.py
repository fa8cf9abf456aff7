# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON Schema validation of each state file, with messages that name file and path."""

from __future__ import annotations

import functools

from .errors import Problem
from .loader import VaultValue
from .state_schema import STATE_FILE


@functools.lru_cache(maxsize=None)
def validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(STATE_FILE)


def json_path(parts):
    text = ""
    for part in parts:
        text += "[%d]" % part if isinstance(part, int) else ("." if text else "") + str(part)
    return text


def holds_password(value):
    if isinstance(value, dict):
        return "password" in value or any(holds_password(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_password(v) for v in value)
    return False


def _message(error):
    if "password" in error.absolute_path:  # never echo a secret back
        return "is not a valid password (%s %r)" % (error.validator, error.validator_value)
    if error.validator == "additionalProperties":  # names the unexpected key, not the values
        return error.message.replace("Additional properties are not allowed", "unknown field")
    if error.validator == "required":
        return error.message
    if holds_password(error.instance):  # jsonschema would print the whole object, password and all
        if error.validator == "type":
            return "is not of type %r" % (error.validator_value,)
        return "does not satisfy %s %r" % (error.validator, error.validator_value)
    if error.validator == "not" and isinstance(error.validator_value, dict) and "description" in error.validator_value:
        return "%r: %s" % (error.instance, error.validator_value["description"])
    if error.validator == "type" and error.schema.get("type") == "string" and isinstance(error.instance, (int, float)):
        return "%r is not a string: quote numbers and names in YAML ('%s')" % (error.instance, error.instance)
    if error.validator == "pattern" and error.schema is not None and "description" in error.schema:
        return "%r does not match: %s" % (error.instance, error.schema["description"])
    if error.validator == "oneOf" and error.context:
        return _message(min(error.context, key=lambda e: len(list(e.absolute_path))))
    return error.message


def _without_vault_values(data):
    """Inline !vault passwords are checked after decryption; the schema sees a stand-in."""
    accounts = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(accounts, list) or not any(
            isinstance(a, dict) and isinstance(a.get("password"), VaultValue) for a in accounts):
        return data
    stand_in = "x" * 8
    view = dict(data)
    view["accounts"] = [dict(a, password=stand_in) if isinstance(a, dict) and isinstance(a.get("password"), VaultValue)
                        else a for a in accounts]
    return view


@functools.lru_cache(maxsize=None)
def fast_validator():
    """jsonschema-rs answers "valid?" ~200x faster; the reference validator explains what is not."""
    try:
        import jsonschema_rs
    except ImportError:
        return None
    return jsonschema_rs.validator_for(STATE_FILE)


def _fast_valid(data):
    fast = fast_validator()
    try:
        return fast is not None and fast.is_valid(data)
    except (ValueError, TypeError):  # a YAML value JSON has no type for (dates): ask the reference validator
        return False


def schema_problems(document):
    data = _without_vault_values(document.data)
    if _fast_valid(data):
        return []
    problems = []
    for error in validator().iter_errors(data):
        problems.append(Problem(document.file, json_path(error.absolute_path), _message(error), "schema: " + error.validator))
    return problems
