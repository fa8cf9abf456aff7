# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""switchboard gather: adopt an existing platform into git by writing its actual state as state files that
plan to zero changes (merged and overridden mode alike).

The files are what a reviewer reads: one file per kind, the accounts one file per group
(``accounts/GROUP.yml``); objects sorted by key, the key field first, the other fields sorted, and fields
equal to the defaults the loader fills in left out (each object is checked: left out only if the loader
reads it back the same). Passwords are never written (an account keeps its HA1 on the platform), nor
server-owned fields (activation status, dates). The header names the database and the platform's last
apply, not the gather time, so that an unchanged platform gathers byte-identical files."""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile

from . import gather, model
from .errors import SwitchboardError
from .loader import current_umask
from .state_schema import KINDS
from .yaml_text import double_quoted

ACCOUNTS_DIR = "accounts"  # one file per group: the kind that grows to 100k objects
SHOWN = 10  # files or rows named in one message; the rest are counted
FLOW_WIDTH = 100  # a list or mapping of scalars longer than this is written as a block, one item per line
FIRST = ("name", "number", "index")  # an object's identity comes first, then its fields in sorted order

# Fields always written (required, or the identity a reviewer looks for), and the fields that decide other
# fields' defaults (an account's group its provisioning profile, its type its obfuscation).
KEPT = {"provisioning_profiles": ("name",), "networks": ("name", "networks"), "groups": ("name",),
        "numbers": ("number",), "accounts": ("number", "group", "username"),
        "devices": ("name", "ip", "platform", "channels"), "trusted_peers": ("name", "address")}
CONTEXT = {"accounts": ("group", "type", "activation")}


def gather_into(directory, dsn, sip_domain):
    """Write the platform's actual state into ``directory`` (absent or empty), all files or none."""
    _refuse_non_empty(directory)
    actual, domains = gather.read(dsn, sip_domain)
    if actual.unreadable:
        raise SwitchboardError(_unreadable(actual.unreadable))
    state = lean_state(actual)
    files = layout(state)
    header = _header(dsn, sip_domain, _last_apply(dsn))
    _write_atomically(directory, {path: header + render(kind, objects) for path, (kind, objects) in files.items()})
    return {"directory": directory, "sip_domain": sip_domain, "database": gather.database(dsn),
            "counts": {kind: len(state[kind]) for kind in KINDS},
            "files": [{"path": path, "kind": kind, "count": len(objects)} for path, (kind, objects) in files.items()],
            "unmanaged_rows": len(actual.unknown_rows), "warnings": _lost_credentials(actual, sip_domain, domains)}


def _lost_credentials(actual, sip_domain, domains):
    """Accounts whose subscriber row is gone: a plan against the gathered files asks for their password (a lost
    credential is never invented), so the operator hears it now."""
    status = gather.account_status(actual, sorted(actual.objects["accounts"]))
    return gather.missing_subscribers(status, sip_domain, domains)


def _unreadable(rows):
    it = "it" if len(rows) == 1 else "them"
    return "%d project row%s cannot be read, and state files without %s would delete %s in overridden mode: %s" % (
        len(rows), "" if len(rows) == 1 else "s", it, it, _listed([str(row) for row in rows]))


def _refuse_non_empty(directory):
    if os.path.lexists(directory) and not os.path.isdir(directory):
        raise SwitchboardError("%s exists and is not a directory: gather writes into a new or empty directory"
                               % directory)
    if os.path.isdir(directory):
        present = sorted(os.listdir(directory))
        if present:
            raise SwitchboardError("%s is not empty (%s): gather writes into a new or empty directory, so that "
                                   "no state file is mixed with or overwritten by the gathered ones"
                                   % (directory, _listed(present)))


def _listed(names):
    return ", ".join(names[:SHOWN]) + (" and %d more" % (len(names) - SHOWN) if len(names) > SHOWN else "")


def layout(state):
    """{relative path: (kind, objects)} in a fixed order; a kind with no objects gets no file."""
    files = {}
    for kind in KINDS:
        if kind == "accounts":
            for account in state[kind]:
                path = "%s/%s.yml" % (ACCOUNTS_DIR, account["group"])
                files.setdefault(path, (kind, []))[1].append(account)
        elif state[kind]:
            files["%s.yml" % kind] = (kind, state[kind])
    return dict(sorted(files.items()))


def lean_state(actual):
    """Per kind, the objects sorted by key, each without the fields the loader would fill in the same."""
    groups = actual.objects["groups"]
    defaults = {}
    state = {}
    for kind, objects in actual.objects.items():
        normalize = _normalizer(kind, groups)
        state[kind] = [lean(kind, objects[key], normalize, defaults) for key in sorted(objects)]
    return state


def _normalizer(kind, groups):
    if kind == "accounts":
        return lambda raw: model.inherit_profile(model.normalize_account(raw), groups)
    return {"provisioning_profiles": model.normalize_profile, "networks": model.normalize_network,
            "groups": model.normalize_group, "numbers": model.normalize_number, "devices": model.normalize_device,
            "trusted_peers": model.normalize_trusted_peer}[kind]


def lean(kind, obj, normalize, defaults):
    """``obj`` (as read) without the fields the loader would fill in with the same value; the whole declared
    form when the leaner one would not read back as ``obj``."""
    filled_in = _filled_in(kind, obj, normalize, defaults)
    leaner = {field: value for field, value in obj.items()
              if value != filled_in.get(field, _ABSENT) or (field in KEPT[kind] and value is not None)}
    return leaner if normalize(leaner) == obj else model.declared_form(obj)


def _filled_in(kind, obj, normalize, defaults):
    """What the loader fills in for every field an object leaves out: the same for every object of one
    context (computed once per context, then checked per object by ``lean``)."""
    context = (kind,) + tuple(obj.get(field) for field in CONTEXT.get(kind, ()))
    if context not in defaults:
        kept = {field: obj[field] for field in KEPT[kind] if obj.get(field) is not None}
        plain = normalize(kept)
        within = normalize(dict(kept, **{field: obj[field] for field in CONTEXT.get(kind, ())}))
        deciding = set(CONTEXT.get(kind, ())) - set(kept)  # their own default is the one without context
        defaults[context] = {field: (plain if field in deciding else within)[field] for field in plain}
    return defaults[context]


_ABSENT = object()


def render(kind, objects):
    """A state file's YAML, written here rather than by PyYAML's emitter (ten times faster at 100k
    accounts); every string that YAML would read as something else is double-quoted."""
    lines = ["%s:" % kind]
    for obj in objects:
        key, *fields = _order(tuple(obj))
        lines.append("  - %s:%s" % (key, _value(obj[key], "    ")))
        lines.extend(["    %s:%s" % (field, _value(obj[field], "    ")) for field in fields])
    return "\n".join(lines) + "\n"


def _ordered(mapping):
    return [(field, mapping[field]) for field in _order(tuple(mapping))]


@functools.lru_cache(maxsize=1024)
def _order(fields):
    """The same few field sets come back 100k times: each is ordered once."""
    first = [field for field in FIRST if field in fields]
    return first + sorted(set(fields) - set(first))


def _value(value, indent):
    """The text after ``field:``: a scalar, or a short flow collection on the same line, or a block below it."""
    if isinstance(value, str):  # most values: the quick way first
        return " " + _string(value)
    if not isinstance(value, (dict, list)):
        return " " + scalar(value)
    items = value.values() if isinstance(value, dict) else value
    if all(not isinstance(item, (dict, list)) for item in items):
        flow = _flow(value)
        if len(flow) <= FLOW_WIDTH:
            return " " + flow
    if isinstance(value, dict):
        return "".join("\n%s  %s:%s" % (indent, k, _value(v, indent + "  ")) for k, v in _ordered(value))
    return "".join("\n%s  - %s" % (indent, _flow(v)) for v in value)


def _flow(value):
    if isinstance(value, dict):
        return "{%s}" % ", ".join("%s: %s" % (scalar(k), _flow(v)) for k, v in _ordered(value))
    if isinstance(value, list):
        return "[%s]" % ", ".join(_flow(v) for v in value)
    return scalar(value)


PLAIN = re.compile(r"[^\W_][\w .@/+-]*\Z")  # no character YAML gives a meaning in flow context


def scalar(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):  # the state holds no floats
        return str(value)
    return _string(value)


@functools.lru_cache(maxsize=65536)
def _string(text):
    if PLAIN.match(text) and not text.endswith(" ") and _read_as_string(text):
        return text
    return double_quoted(text)


def _read_as_string(text):
    """Whether YAML reads this plain scalar as a string (not ``yes``, ``null``, ``1e3``, ``12:30``...)."""
    import yaml

    return yaml.SafeLoader.resolve(yaml.SafeLoader, yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"


def _header(dsn, sip_domain, last_apply):
    return ("# Gathered by `switchboard gather` from the PBX database %s, SIP domain %s.\n"
            "# The platform's last apply: %s. Passwords are not written: accounts keep their credentials\n"
            "# (HA1 digests) on the platform; declare a password only to change it.\n"
            % (gather.named(dsn), sip_domain, "%s UTC" % last_apply if last_apply else "none recorded"))


def _last_apply(dsn):
    from .pbx.database import transaction

    with transaction(dsn, check_mode=True) as db:
        return db.query("SELECT max(at) FROM sb_journal")[0][0]


def _write_atomically(directory, files):
    """Every file is written into a temporary directory beside ``directory``, which is then renamed onto it
    (rename replaces an empty directory): a failure leaves nothing behind."""
    directory = os.path.abspath(directory)
    staging = None
    try:
        os.makedirs(os.path.dirname(directory), exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".%s.gathering-" % os.path.basename(directory),
                                   dir=os.path.dirname(directory))
        for path, text in files.items():
            target = os.path.join(staging, path)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(text)
        os.chmod(staging, 0o777 & ~current_umask())
        os.rename(staging, directory)  # fails if something appeared in the directory meanwhile
    except BaseException as exc:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError):
            raise SwitchboardError("cannot write the gathered state into %s (%s): nothing was written"
                                   % (directory, exc.strerror or exc)) from exc
        raise
