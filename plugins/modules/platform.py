#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: platform
short_description: Reconcile the whole declared state (groups, numbers, accounts, devices) with the PBX
version_added: 0.1.0
description:
  - Loads every C(*.yml)/C(*.yaml) file below O(state_dir), validates all of it (JSON Schema and the
    platform's rules) and reports every problem at once without writing anything.
  - Reads the actual state in bulk, computes an ordered plan and applies it in one database transaction.
  - In check mode the same statements run and the transaction is rolled back.
  - In diff mode every changed object is shown before and after; passwords are always masked.
  - Drift in Kamailio's own tables is repaired and named (C(subscriber row missing), C(disabled flag),
    C(allowed networks), C(number aliases)); a lost credential is never replaced by an invented password.
  - Inline C(!vault) passwords and O(secrets_file) are decrypted on the controller by this module's action plugin.
author: Switchboard developers (@switchboard)
extends_documentation_fragment:
  - switchboard.pbx.pbx
  - switchboard.pbx.pbx.SMS
  - switchboard.pbx.pbx.STATE
  - switchboard.pbx.pbx.AUDIT
options:
  state_dir:
    description: Directory whose YAML files (recursively) together are the declared state.
    type: path
    required: true
  mode:
    description:
      - V(merged) creates and updates only; objects missing from the state are left alone.
      - V(overridden) makes the declared state the whole truth. Undeclared objects are removed, accounts are disabled first, then deleted.
      - Rows of Kamailio's tables that no account owns (an undeclared C(subscriber) credential, a stray C(dbaliases)
        route, rows of another SIP domain, rows left by a deleted account) are removed in V(overridden) mode and
        reported as a warning in V(merged) mode; rows in the way of a declared account (its username, a second
        target of its number) are removed in both.
    type: str
    choices: [merged, overridden]
    default: merged
  secrets_file:
    description:
      - An Ansible-Vault-encrypted YAML mapping of account number to password. Read on the controller.
      - A file that is not vault-encrypted is refused, a number that matches no declared account is an error,
        and so is a password given both here and in the state (inline plain text or C(!vault)).
    type: path
  rpc_url:
    description:
      - Kamailio's JSON-RPC URL (C(http://IP:PORT/RPC)), usually the inventory variable C(switchboard_pbx_rpc_url).
      - Kamailio reads the account tables live, so no reload is needed for them.
      - After a commit, accounts that were deleted, disabled or got a new password or ACL are unregistered at once,
        and a change of C(trusted_peers) reloads Kamailio's cached address table (C(permissions.addressReload)).
      - When Kamailio cannot be reached the database change stays committed and the result carries a warning.
    type: str
  lock_timeout:
    description:
      - Seconds to wait for the PBX database's write lock (another run writing, or Kamailio on SQLite), then fail
        saying who holds it (on PostgreSQL its session, application and client address). Nothing is written then.
      - The lock is only held while writing; reading and planning take none.
      - Usually set from the inventory variable C(switchboard_pbx_lock_timeout).
    type: float
    default: 30
  report_formats:
    description:
      - Also write the plan as the shared report model to O(report_dir) (C(plan.json), C(plan.md), C(plan.html),
        C(plan.junit.xml)), in these formats. A report that cannot be written is a warning.
    type: list
    elements: str
    choices: [json, md, html, junit]
    default: []
  keep_plan_files:
    description:
      - How many plan files (the newest) stay in O(report_dir); older ones are removed. V(0) keeps them all.
    type: int
    default: 50
  passwords:
    description:
      - Clear passwords by account number, as a mapping or its JSON text.
      - Filled in by the action plugin from vault values and O(secrets_file); not meant to be set by hand.
    type: jsonarg
    default: "{}"
  decrypted_files:
    description:
      - The text of the state files that are encrypted with Ansible Vault as a whole, by file name relative to O(state_dir).
      - Filled in by the action plugin, which decrypts them on the controller; not meant to be set by hand.
    type: jsonarg
    default: "{}"
"""

EXAMPLES = r"""
- name: Apply the declared state
  switchboard.pbx.platform:
    state_dir: "{{ switchboard_state_dir }}"
    dsn: "{{ switchboard_pbx_dsn }}"
    sip_domain: "{{ switchboard_sip_domain }}"
    mode: "{{ switchboard_mode | default('merged') }}"
    secrets_file: "{{ switchboard_secrets_file | default(omit) }}"
  register: platform

- name: Show what changed
  ansible.builtin.debug:
    msg: "{{ platform.summary_text }}"
"""

RETURN = r"""
message:
  description: The plan in one sentence, from the same counts as RV(summary).
  returned: always
  type: str
  sample: "created 2 accounts and 1 group, updated 1 group"
summary_text:
  description:
    - What the playbooks print - RV(message), then per action and kind the objects touched (the first 10, then how many more),
      then the plan file.
  returned: always
  type: list
  elements: str
  sample: ["created 2 accounts", "created accounts: +393471234567 and +393489876543", "full plan (every change, secrets masked): /r/plan.json"]
summary:
  description: Number of changes per kind and action.
  returned: always
  type: dict
  sample: {accounts: {create: 3, update: 1}, groups: {create: 1}}
changes:
  description: One line per change (the first 200), with the changed field paths.
  returned: always
  type: list
  elements: str
  sample: ["create accounts/+393471234567", "update accounts/+390212345601 (acl[1].permit)"]
change_count:
  description: Number of changes in the plan.
  returned: always
  type: int
plan_file:
  description: JSON file with the full plan (every change with before/after, secrets masked).
  returned: always
  type: str
reports:
  description: The plan reports written to O(report_dir), one per format of O(report_formats).
  returned: when O(report_formats) is set
  type: list
  elements: str
  sample: ["/r/plan.json", "/r/plan.md"]
sms:
  description:
    - The activation SMS of this run - C(sent), C(pending), C(failed) and C(unknown) message ids; in check mode
      C(would_send), one line per message that would be sent.
  returned: always
  type: dict
  sample: {sent: ["393471234567.installation.1"], pending: [], failed: [], unknown: []}
server:
  description: What Kamailio was told (accounts whose registrations were dropped).
  returned: when O(rpc_url) is set
  type: dict
  sample: {rpc_url: "http://127.0.0.1:5071/RPC", unregistered: ["4101"]}
run:
  description:
    - Which run this was. C(complete) read the whole platform and planned the whole declared state; C(unchanged)
      read nothing (state files, secrets, options and every table the plan reads as the last complete run left
      them); C(incremental) read and planned only the objects that changed in the state files or passwords since
      the last complete run (and what they touch), the platform being as that run left it.
  returned: always
  type: str
  sample: incremental
timings:
  description:
    - "Wall seconds per phase of the run (C(make bench) prints them). The state files are parsed and checked by
      worker processes while the platform is read; that phase is marked C((in parallel)), and C(waiting for the
      load) is what it adds to C(total). A big plan's file is written by a forked child while the platform is
      written; C(waiting for the plan file) is what it adds."
  returned: always
  type: dict
  sample: {read: 1.9, "waiting for the load": 0.4, plan: 2.1, report: 0.3, write: 0.01, total: 5.2}
"""

import json

from ansible_collections.switchboard.pbx.plugins.module_utils import plan_reports
from ansible_collections.switchboard.pbx.plugins.module_utils.door import (
    AUDIT_ARGS, REPORT_ARGS, SMS_ARGS, audit_options, run, sms_options)


def reconcile(module, engine):
    params = module.params
    options = engine.Options(
        state_dir=params["state_dir"], dsn=params["dsn"], sip_domain=params["sip_domain"], mode=params["mode"],
        passwords=json.loads(params["passwords"]), check_mode=module.check_mode, report_dir=params["report_dir"],
        rpc_url=params["rpc_url"], lock_timeout=params["lock_timeout"], keep_plan_files=params["keep_plan_files"],
        decrypted_files=json.loads(params["decrypted_files"]), secrets_file=params["secrets_file"],
        **sms_options(params), **audit_options(params, "switchboard.pbx.platform"))
    result = engine.run(options)
    if params["report_formats"]:
        result["reports"], told = plan_reports.write(result["plan_file"], options, params["report_formats"])
        result["warnings"].extend(told)
    return result


def main():
    run(dict(REPORT_ARGS, **SMS_ARGS, **AUDIT_ARGS,
             state_dir=dict(type="path", required=True),
             mode=dict(type="str", choices=["merged", "overridden"], default="merged"),
             secrets_file=dict(type="path"),
             rpc_url=dict(type="str"),
             lock_timeout=dict(type="float", default=30),
             keep_plan_files=dict(type="int", default=50),
             report_formats=dict(type="list", elements="str", choices=["json", "md", "html", "junit"], default=[]),
             passwords=dict(type="jsonarg", default="{}", no_log=True),
             decrypted_files=dict(type="jsonarg", default="{}", no_log=True)),
        reconcile)


if __name__ == "__main__":
    main()
