#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sip_account
short_description: Create, update, enable, disable or delete one SIP account
version_added: 0.1.0
description:
  - Ad-hoc changes to one account, through the same validation, plan and transaction as M(switchboard.pbx.platform).
  - Only what the change touches is read and checked, by indexed look-ups; the cost does not grow with the platform
    (a fraction of a second at 100 000 accounts, besides Ansible's own start), and another account's problem never blocks it.
    What is checked - the account as wanted, its group, provisioning profile and network lists (they must exist),
    the number inventory of its numbers, the accounts holding the numbers or username it wants (they must be free),
    and the device channels it is bound to (one channel, two with O(multi_login); the groups' IP listings).
  - Options left out keep the account's current values.
  - Numbers must be strings. An unquoted C(+390212345609) is an integer in YAML and loses its C(+); the task is
    refused before anything is read or written (quote numbers).
  - O(state=enabled) on a wizard account whose client has not activated it yet records the wish (changed when the
    stored flag was off) and succeeds with a warning saying that the account stays disabled until its client
    completes the activation; the activation enables it.
  - For the whole fleet use M(switchboard.pbx.platform) with a state directory; a loop over this module is slow.
author: Switchboard developers (@switchboard)
extends_documentation_fragment:
  - switchboard.pbx.pbx
  - switchboard.pbx.pbx.SMS
  - switchboard.pbx.pbx.STATE
  - switchboard.pbx.pbx.AUDIT
options:
  number:
    description: The primary number, the account's identity.
    type: str
    required: true
  state:
    description:
      - V(present) creates or updates; V(enabled)/V(disabled) switch an existing account; V(absent) disables, then deletes it.
    type: str
    choices: [present, absent, enabled, disabled]
    default: present
  group:
    description: The account's group (must exist).
    type: str
  type:
    description: The client type.
    type: str
    choices: [pgsm, snom, sip]
  activation:
    description: V(plain) (enabled at once) or V(wizard) (disabled until the client activates by SMS).
    type: str
    choices: [plain, wizard]
  username:
    description: SIP username; generated once when left out.
    type: str
  password:
    description: SIP password (plain activation). Never shown; compared by HA1.
    type: str
  security_model:
    description: Media security.
    type: str
    choices: [sdes, zrtp, end-to-site]
  secondary_number:
    description: Secondary number; changing it re-creates the account and needs O(allow_replace).
    type: str
  additional_numbers:
    description: More numbers linked to the account.
    type: list
    elements: str
  obfuscation:
    description: PGSM signalling obfuscation.
    type: dict
    suboptions:
      enabled:
        description: Whether obfuscation is on.
        type: bool
      key:
        description: Must equal the client's key.
        type: str
  keepalive:
    description: Server-side keep-alive (clients older than 11.1 cannot answer it).
    type: bool
  acl:
    description: Ordered C(deny)/C(permit) entries, each a one-key mapping to ip/netmask or CIDR.
    type: list
    elements: dict
  enabled:
    description: Whether the account may call and be called.
    type: bool
  provisioning_profile:
    description: Provisioning profile (wizard activation).
    type: str
  owner:
    description: Full name of the user.
    type: str
  email:
    description: E-mail address of the user.
    type: str
  description:
    description: Free text.
    type: str
  callerid:
    description: Caller ID name.
    type: str
  voice_channels:
    description: Maximum concurrent calls.
    type: int
  tariff:
    description: Tariff.
    type: str
    choices: [usage, flat]
  restricted_networks:
    description: Names of declared network lists the account may register from.
    type: list
    elements: str
  multi_login:
    description: Allow the extension on two channels.
    type: bool
  allow_replace:
    description: Allow deleting and re-creating the account when its secondary number or username changes.
    type: bool
    default: false
  action:
    description:
      - An explicit action on the existing account instead of a change of its fields (give no account fields with it).
      - V(send_installation_sms) and V(send_activation_sms) queue exactly one more SMS of that stage and send it
        through O(sms_gateway); each call sends exactly one (nothing else ever sends a message again). A plain PGSM
        account may get an activation SMS too and stays enabled. The account needs a provisioning profile with
        C(base_url) (its own or its group's).
      - V(revoke_keys) deletes the client's stored public key, invalidates the account's open links and drops its
        registrations (with O(rpc_url)); only a new activation link lets the client upload a new key.
      - In check mode nothing is sent or written; the result says what would be sent.
    type: str
    choices: [send_installation_sms, send_activation_sms, revoke_keys]
  rpc_url:
    description: Kamailio's JSON-RPC URL; registrations of a disabled, changed or revoked account are dropped at once.
    type: str
"""

EXAMPLES = r"""
- name: Disable a lost phone's account at once
  switchboard.pbx.sip_account:
    dsn: "{{ switchboard_pbx_dsn }}"
    sip_domain: "{{ switchboard_sip_domain }}"
    number: "+393471234567"
    state: disabled

- name: Create a desk phone account
  switchboard.pbx.sip_account:
    dsn: "{{ switchboard_pbx_dsn }}"
    sip_domain: "{{ switchboard_sip_domain }}"
    number: "+390212345603"
    group: milano-office
    type: snom
    password: "{{ vault_warehouse_password }}"

- name: Send the installation SMS once more (the first one failed)
  switchboard.pbx.sip_account:
    dsn: "{{ switchboard_pbx_dsn }}"
    sip_domain: "{{ switchboard_sip_domain }}"
    number: "+393471234567"
    action: send_installation_sms
    sms_gateway: "{{ switchboard_sms_gateway }}"
"""

RETURN = r"""
summary:
  description: Number of changes per kind and action (at most one account).
  returned: always
  type: dict
changes:
  description: The change line, if any.
  returned: always
  type: list
  elements: str
plan_file:
  description: JSON file with the plan.
  returned: when no O(action) is given
  type: str
sms:
  description: The SMS sent (C(sent)), still queued (C(pending)), C(failed) or C(unknown); C(would_send) in check mode.
  returned: when SMS were queued or sent
  type: dict
"""

from ansible_collections.switchboard.pbx.plugins.module_utils import account_actions
from ansible_collections.switchboard.pbx.plugins.module_utils.door import (
    AUDIT_ARGS, REPORT_ARGS, SMS_ARGS, audit_options, run, sms_options)

ACCOUNT_FIELDS = dict(
    group=dict(type="str"),
    type=dict(type="str", choices=["pgsm", "snom", "sip"]),
    activation=dict(type="str", choices=["plain", "wizard"]),
    username=dict(type="str"),
    security_model=dict(type="str", choices=["sdes", "zrtp", "end-to-site"]),
    secondary_number=dict(type="str"),
    additional_numbers=dict(type="list", elements="str"),
    obfuscation=dict(type="dict", options=dict(enabled=dict(type="bool"), key=dict(type="str", no_log=False))),
    keepalive=dict(type="bool"),
    acl=dict(type="list", elements="dict"),
    enabled=dict(type="bool"),
    provisioning_profile=dict(type="str"),
    owner=dict(type="str"),
    email=dict(type="str"),
    description=dict(type="str"),
    callerid=dict(type="str"),
    voice_channels=dict(type="int"),
    tariff=dict(type="str", choices=["usage", "flat"]),
    restricted_networks=dict(type="list", elements="str"),
    multi_login=dict(type="bool"),
)


def reconcile(module, engine):
    params = module.params
    options = engine.Options(state_dir=None, dsn=params["dsn"], sip_domain=params["sip_domain"],
                             check_mode=module.check_mode, report_dir=params["report_dir"], rpc_url=params["rpc_url"],
                             **sms_options(params), **audit_options(params, "switchboard.pbx.sip_account"))
    if params["action"]:
        given = sorted(name for name in list(ACCOUNT_FIELDS) + ["password"] if params[name] is not None)
        given += ["state"] if params["state"] != "present" else []
        if given:
            module.fail_json(msg="action %s works on the account as it is: give no account fields with it (given: %s)"
                             % (params["action"], ", ".join(given)))
        return account_actions.run(options, params["number"], params["action"], engine.now)
    fields = {name: params[name] for name in ACCOUNT_FIELDS}
    if fields["obfuscation"] is not None:
        fields["obfuscation"] = {k: v for k, v in fields["obfuscation"].items() if v is not None}
    if params["allow_replace"]:
        fields["allow_replace"] = True
    passwords = {params["number"]: params["password"]} if params["password"] is not None else {}
    options.passwords = passwords
    return engine.reconcile_account(options, params["number"], fields, params["state"])


def main():
    run(dict(REPORT_ARGS, **ACCOUNT_FIELDS, **SMS_ARGS, **AUDIT_ARGS,
             action=dict(type="str", choices=list(account_actions.ACTIONS)),
             rpc_url=dict(type="str"),
             number=dict(type="str", required=True),
             state=dict(type="str", choices=["present", "absent", "enabled", "disabled"], default="present"),
             password=dict(type="str", no_log=True),
             allow_replace=dict(type="bool", default=False)),
        reconcile)


if __name__ == "__main__":
    main()
