# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON Schema validation of each state file, with messages that name file and path."""

from __future__ import annotations

import datetime
import functools

from .errors import Problem
from .loader import VaultValue
from .shown import SHOWN_CHARACTERS, shown
from .state_schema import ACCOUNT, DEVICE, NAME, STATE_FILE


@functools.lru_cache(maxsize=None)
def validator():
    from jsonschema import Draft202012Validator

    return Draft202012Validator(STATE_FILE)


def json_path(parts):
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += "[%d]" % part
        else:
            part = str(part)
            text += ("." if text else "") + (part if len(part) <= SHOWN_CHARACTERS else shown(part))
    return text


def holds_password(value):
    if isinstance(value, dict):
        return "password" in value or any(holds_password(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_password(v) for v in value)
    return False


TYPE_NAMES = {"string": "a string", "array": "a list", "object": "a mapping", "integer": "a whole number",
              "number": "a number", "boolean": "true or false", "null": "empty"}
# Patterns without a description in the schema, said in words instead of a regular expression.
PATTERN_WORDS = {
    NAME["pattern"]: "a name is 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit",
    ACCOUNT["properties"]["username"]["pattern"]: "a username is 1 to 64 letters, digits, '_', '.', '+' or '-'",
    DEVICE["properties"]["ip"]["pattern"]: "an IP address (10.0.0.1 or 2001:db8::1)",
}


def kind_of(value):
    """The YAML kind of a value in words, without the value itself."""
    if isinstance(value, bool):
        return "true or false"
    if value is None:
        return "empty"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return "a date"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, VaultValue):
        return "an encrypted value"
    return "a %s" % type(value).__name__


def _expected(validator_value):
    names = validator_value if isinstance(validator_value, list) else [validator_value]
    return " or ".join(TYPE_NAMES.get(name, name) for name in names)


def _type_message(error, secret):
    """YAML 1.1 reads some unquoted text as numbers, dates or booleans: say so, and "quote it"."""
    value = error.instance
    wants_string = "string" in (error.validator_value if isinstance(error.validator_value, list) else [error.validator_value])
    if wants_string and not secret:
        written = getattr(value, "written", None)
        if written:
            return "%s is read by YAML as the number %d: quote it ('%s')" % (written, value, written)
        if isinstance(value, bool):
            return ("%s is not a string: YAML reads unquoted yes/no/on/off/true/false as true or false; quote it"
                    % shown(value))
        if isinstance(value, (int, float)):
            return "%s is not a string: quote numbers and names in YAML ('%s')" % (shown(value), shown(value))
        if isinstance(value, (datetime.date, datetime.datetime)):
            return "YAML reads the unquoted %s as a date: quote it ('%s')" % (value, value)
    if value is None:
        return "is empty; %s is expected here" % _expected(error.validator_value)
    if wants_string and secret:
        return "is %s, not a string: quote it" % kind_of(value)
    return "is %s, not %s" % (kind_of(value), _expected(error.validator_value))


def _listed(values):
    return ", ".join(shown(v) for v in values)


def _message(error):
    """A sentence about one schema error that shows at most a bounded piece of the value (never a password),
    and no Python reprs, dict dumps or regular expressions."""
    secret = "password" in error.absolute_path or holds_password(error.instance)
    validator, expected, value = error.validator, error.validator_value, error.instance
    if validator == "type":
        return _type_message(error, secret)
    if "password" in error.absolute_path:  # never echo a secret back, not even a piece of it
        if validator == "minLength":
            return "is not a valid password (minLength %d)" % expected
        return "is not a valid password (%s)" % validator
    if validator == "additionalProperties":  # names the unexpected keys, not the values
        extra = [key for key in value if key not in error.schema.get("properties", {})]
        return "unknown field (%s %s unexpected)" % (_listed(extra), "was" if len(extra) == 1 else "were")
    if validator == "required":
        missing = [key for key in expected if key not in value]
        return "the required field%s %s %s missing" % ("s" if len(missing) > 1 else "", _listed(missing),
                                                       "are" if len(missing) > 1 else "is")
    if validator == "oneOf" and error.context:
        return _message(min(error.context, key=lambda e: len(list(e.absolute_path))))
    if secret:  # jsonschema would print the whole object, password and all
        return "is %s that does not satisfy the schema's %s rule" % (kind_of(value), validator)
    return _value_message(error, validator, expected, value)


def _value_message(error, validator, expected, value):
    if validator == "not" and isinstance(expected, dict) and "description" in expected:
        return "%s: %s" % (shown(value), expected["description"])
    if validator == "pattern":
        words = (error.schema or {}).get("description") or PATTERN_WORDS.get(expected)
        return "%s does not match: %s" % (shown(value), words or "it has characters that are not allowed here")
    if validator in ("enum", "const"):
        choices = expected if validator == "enum" else [expected]
        return "%s is not one of: %s" % (shown(value), ", ".join(str(shown(c)).strip("'") for c in choices))
    if validator == "minimum":
        return "%s is less than the minimum of %s" % (shown(value), expected)
    if validator == "maximum":
        return "%s is more than the maximum of %s" % (shown(value), expected)
    if validator == "maxLength":
        return "%s is longer than %d characters" % (shown(value), expected)
    if validator == "minLength":
        return "%s is shorter than %d characters" % (shown(value), expected)
    if validator == "uniqueItems":
        return "lists the same value more than once"
    if validator in ("minItems", "minProperties"):
        return "has %d %s, at least %d %s needed" % (len(value), _things(validator), expected, "is" if expected == 1 else "are")
    if validator in ("maxItems", "maxProperties"):
        return "has %d %s, at most %d %s allowed" % (len(value), _things(validator), expected, "is" if expected == 1 else "are")
    return "is %s that does not satisfy the schema's %s rule" % (kind_of(value), validator)


def _things(validator):
    return "entries" if validator.endswith("Items") else "fields"


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
        if error.validator == "not" and not isinstance(error.instance, str):
            continue  # "no white space" fails on a number too; its type error says what is wrong
        problems.append(Problem(document.file, json_path(error.absolute_path), _message(error), "schema: " + error.validator))
    return problems
