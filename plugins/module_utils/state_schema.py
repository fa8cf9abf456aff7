# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""JSON Schema of one state file.

It lives in Python so that modules carry it to the target host; schemas/state.schema.json
is generated from it (``make schema``) for editors, and a test keeps the two equal.
"""

from __future__ import annotations

# Python's "$" also matches before a final newline ("111\n" from a YAML block scalar): keys are
# additionally refused any white space, with a pattern both validators read the same way.
NO_WHITE_SPACE = {"pattern": r"\s", "description": "white space is not allowed here"}
NAME = {"type": "string", "pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", "not": NO_WHITE_SPACE}
NUMBER = {
    "type": "string",
    "pattern": r"^\+?[0-9]{2,20}$",
    "not": NO_WHITE_SPACE,
    "description": "A phone number as a quoted string: E.164 (+391234567890) or a short internal number (111).",
}
TEXT = {"type": ["string", "null"], "maxLength": 255}
NETWORK = {"type": "string", "pattern": r"^[0-9A-Fa-f:.]+(/[0-9A-Fa-f:.]+)?$",
           "description": "An address, ip/netmask (10.0.0.0/255.0.0.0) or CIDR (10.0.0.0/8)."}

ACL_ENTRY = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "properties": {"deny": NETWORK, "permit": NETWORK},
    "additionalProperties": False,
}

GROUP = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": NAME,
        "description": TEXT,
        "provisioning_profile": NAME,
        "ip_listing": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                "allow": {"type": "array", "items": NETWORK},
            },
        },
    },
}

URL = {"type": "string", "pattern": r"^https?://[^\s/?#]+[^\s?#]*$", "maxLength": 255, "not": NO_WHITE_SPACE,
       "description": "An http:// or https:// URL."}
SMS_TEMPLATE = {"type": "string", "minLength": 1, "maxLength": 1000,
                "description": "Jinja2 text; {{ link }} (required), {{ owner }} and {{ number }} are filled in."}

PROFILE = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": NAME,
        "description": TEXT,
        "base_url": dict(URL, description="The provisioning service's public base URL: every SMS link starts with it."),
        "download_urls": {
            "type": "object",
            "additionalProperties": False,
            "description": "Where the installation link sends each platform's phone (detected from its User-Agent).",
            "properties": {"ios": URL, "android": URL, "other": URL},
        },
        "token_lifetime_days": {"type": "integer", "minimum": 1, "maximum": 365,
                                "description": "How long an SMS link stays valid (default 7 days)."},
        "templates": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"installation": SMS_TEMPLATE, "activation": SMS_TEMPLATE},
        },
    },
}

NETWORK_LIST = {
    "type": "object",
    "required": ["name", "networks"],
    "additionalProperties": False,
    "properties": {"name": NAME, "description": TEXT, "networks": {"type": "array", "items": NETWORK}},
}

NUMBER_ENTRY = {
    "type": "object",
    "required": ["number"],
    "additionalProperties": False,
    "properties": {
        "number": NUMBER,
        "state": {"enum": ["active", "inactive"]},
        "group": NAME,
        "description": TEXT,
    },
}

ACCOUNT = {
    "type": "object",
    "required": ["number", "group"],
    "additionalProperties": False,
    "properties": {
        "number": NUMBER,
        "group": NAME,
        "type": {"enum": ["pgsm", "snom", "sip"]},
        "activation": {"enum": ["plain", "wizard"]},
        "username": {"type": "string", "pattern": r"^[A-Za-z0-9_.+-]{1,64}$", "not": NO_WHITE_SPACE},
        "password": {"type": "string", "minLength": 8,
                     "description": "Prefer !vault or the secrets file; plain text is accepted with a warning."},
        "security_model": {"enum": ["sdes", "zrtp", "end-to-site"]},
        "secondary_number": NUMBER,
        "additional_numbers": {"type": "array", "items": NUMBER, "uniqueItems": True},
        "obfuscation": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"enabled": {"type": "boolean"}, "key": {"type": ["string", "integer"]}},
        },
        "keepalive": {"type": "boolean"},
        "acl": {"type": "array", "items": ACL_ENTRY},
        "enabled": {"type": "boolean"},
        "provisioning_profile": NAME,
        "owner": TEXT,
        "email": TEXT,
        "description": TEXT,
        "callerid": TEXT,
        "voice_channels": {"type": "integer", "minimum": 1},
        "tariff": {"enum": ["usage", "flat"]},
        "restricted_networks": {"oneOf": [NAME, {"type": "array", "items": NAME}]},
        "multi_login": {"type": "boolean"},
        "allow_replace": {"type": "boolean",
                          "description": "Allow delete + re-create when the primary or secondary number changes."},
    },
}

CHANNEL = {
    "type": "object",
    "required": ["index"],
    "additionalProperties": False,
    "properties": {"index": {"type": "integer", "minimum": 1}, "extension": {"oneOf": [NUMBER, {"type": "null"}]}},
}

DEVICE = {
    "type": "object",
    "required": ["name", "ip", "platform"],
    "additionalProperties": False,
    "properties": {
        "name": NAME,
        "group": NAME,
        "ip": {"type": "string", "pattern": r"^[0-9A-Fa-f:.]+$"},
        "port": {"type": "integer", "minimum": 1, "maximum": 65535, "description": "The device's SSH port (default 22)."},
        "platform": {"enum": ["snom", "linux_baresip"]},
        "description": TEXT,
        "channels": {"type": "array", "items": CHANNEL},
    },
}

TRUSTED_PEER = {
    "type": "object",
    "required": ["name", "address"],
    "additionalProperties": False,
    "description": "A carrier or gateway that may send requests without authentication, only to numbers of accounts.",
    "properties": {
        "name": NAME,
        "address": {"type": "string", "pattern": r"^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$",
                    "description": "An IP address (10.0.0.1) or a CIDR network (10.0.0.0/24)."},
        "description": TEXT,
    },
}

# Objects or fields whose drift an operator accepts: the drift report marks them ignored and prints the reason.
DRIFT_IGNORE = {
    "type": "object",
    "required": ["address", "reason"],
    "additionalProperties": False,
    "properties": {
        "address": {"type": "string", "maxLength": 255,
                    "pattern": r"^(provisioning_profiles|networks|groups|numbers|accounts|devices|trusted_peers|kamailio|fleet)"
                               r"/\S+$",
                    "description": "an address is KIND/KEY, KIND one of accounts, groups, numbers, devices, networks, "
                                   "provisioning_profiles, trusted_peers, kamailio, fleet (accounts/+390212345601); "
                                   "* and ? match any characters (accounts/+3902*)"},
        "fields": {"type": "array", "minItems": 1, "uniqueItems": True, "items": {"type": "string", "minLength": 1},
                   "description": "Only these changed fields (and the paths under them) are accepted; all when absent."},
        "reason": {"type": "string", "minLength": 1, "maxLength": 1000,
                   "description": "Why this drift is accepted (the report prints it for the auditor)."},
    },
}

STATE_FILE = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://switchboard.invalid/schemas/state.schema.json",
    "title": "Switchboard declared state (one file of the state directory)",
    "type": ["object", "null"],
    "additionalProperties": False,
    "properties": {
        "groups": {"type": "array", "items": GROUP},
        "provisioning_profiles": {"type": "array", "items": PROFILE},
        "networks": {"type": "array", "items": NETWORK_LIST},
        "numbers": {"type": "array", "items": NUMBER_ENTRY},
        "accounts": {"type": "array", "items": ACCOUNT},
        "devices": {"type": "array", "items": DEVICE},
        "trusted_peers": {"type": "array", "items": TRUSTED_PEER},
        "drift_ignore": {"type": "array", "items": DRIFT_IGNORE},
    },
}

# The kinds in the order references hold: a kind only points at kinds before it.
KINDS = ("provisioning_profiles", "networks", "groups", "numbers", "accounts", "devices", "trusted_peers")
