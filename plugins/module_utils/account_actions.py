# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Explicit actions on one account (switchboard.pbx.sip_account ``action``), seeds 001/003:

send_installation_sms / send_activation_sms: queue exactly one more message (the next generation of the
stage) and send it; the only way a message is ever sent again. A plain PGSM account may get an activation
SMS too: it stays enabled. revoke_keys: the client's stored key is deleted, its open links are invalidated
and its registrations dropped; only a new activation link lets it upload a new key.
"""

from __future__ import annotations

import json

from . import activation, dispatch
from .errors import SwitchboardError
from .pbx import server
from .pbx.database import Session
from .sms.gateway import E164

REVOKE = "revoke_keys"
ACTIONS = tuple(activation.ACTIONS) + (REVOKE,)


def run(options, number, action, now):
    """Returns the module's result dict."""
    dispatch.check_settings(options)
    with Session(options.dsn, options.sip_domain, options.check_mode, options.lock_timeout) as pbx:
        with pbx.writing() as db:  # rolled back in check mode
            account = _account(db, number)
            if action == REVOKE:
                result = _revoke(db, options, account, now())
            else:
                stage = activation.ACTIONS[action]
                _check_can_receive(db, account, stage)
                activation.queue(db, now(), stage, [number])
    if action == REVOKE:  # committed: now the registrations made with the revoked keys go
        if options.rpc_url:
            result["server"], result["warnings"] = server.unregister(options.rpc_url, options.sip_domain,
                                                                     [account["username"]], options.check_mode)
        return result
    if options.check_mode:
        lines = activation.would_send(stage, [number])
        return {"changed": True, "message": lines[0], "summary_text": lines, "sms": {"would_send": lines}}
    section, lines, warnings = dispatch.run(options, now)
    return {"changed": True, "message": "queued one %s SMS to %s" % (stage, number), "summary_text": lines,
            "sms": section, "warnings": warnings}


def _account(db, number):
    rows = db.query("SELECT number, username, data FROM sb_accounts WHERE number = ?", (number,))
    if not rows:
        raise SwitchboardError("account %s does not exist: nothing was sent or changed" % number)
    document = json.loads(rows[0][2])
    return dict(document, number=rows[0][0], username=rows[0][1])


def _check_can_receive(db, account, stage):
    number = account["number"]
    if account.get("type") != "pgsm":
        raise SwitchboardError("account %s is a %s account: only PGSM mobile clients receive a %s SMS; nothing was sent"
                               % (number, account.get("type"), stage))
    if not E164.match(number):
        raise SwitchboardError("account %s: its number is not E.164, an SMS cannot reach it; nothing was sent" % number)
    name = account.get("provisioning_profile") or dict(db.query(
        "SELECT name, provisioning_profile FROM sb_groups WHERE name = ?", (account.get("group"),))).get(account.get("group"))
    rows = db.query("SELECT data FROM sb_provisioning_profiles WHERE name = ?", (name,)) if name else []
    if not rows or not json.loads(rows[0][0]).get("base_url"):
        raise SwitchboardError("account %s: %s: the SMS link needs a provisioning profile with base_url (on the account or "
                               "its group); nothing was sent" % (number, "provisioning profile %r has no base_url" % name
                                                                 if rows else "no provisioning profile"))


def _revoke(db, options, account, now):
    number = account["number"]
    keys = db.query("SELECT count(*) FROM sb_client_keys WHERE account = ?", (number,))[0][0]
    links = db.query("SELECT count(*) FROM sb_tokens WHERE account = ? AND used_at IS NULL", (number,))[0][0]
    db.execute("DELETE FROM sb_client_keys WHERE account = ?", (number,))
    db.execute("UPDATE sb_tokens SET used_at = ? WHERE account = ? AND used_at IS NULL", (now, number))
    detail = "%d stored key%s deleted, %d open link%s invalidated" % (
        keys, "" if keys == 1 else "s", links, "" if links == 1 else "s")
    activation.add_history(db, now, [(number, "keys_revoked", detail)])
    return {"changed": True, "message": ("would revoke the keys of %s" if options.check_mode else "revoked the keys of %s")
            % number, "summary_text": [detail], "warnings": []}
