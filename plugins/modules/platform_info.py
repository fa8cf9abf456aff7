#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: platform_info
short_description: The PBX's actual state in the declared format (gathered)
version_added: 0.1.0
description:
  - Reads groups, provisioning profiles, networks, numbers, accounts, devices and trusted peers back from the PBX database,
    in the same format as the state files, so an existing platform can be adopted into git.
  - Reports each account's activation status. Never writes, never returns a password or HA1.
  - Reads only a PBX database that exists and is initialised. A SQLite DSN naming a file that does not exist, or a
    database without the Switchboard tables, is an error (an empty answer adopted into git would declare an empty platform).
  - Returns the audit trail, the newest applies first (RV(applies)).
  - Returns the SIP domain and the database it read. Accounts without a subscriber row in O(sip_domain) (deleted
    behind the engine's back, or a mistyped domain) are reported with a warning that names the domains the database holds.
author: Switchboard developers (@switchboard)
extends_documentation_fragment:
  - switchboard.pbx.pbx
attributes:
  check_mode:
    support: full
    description: Read-only.
options:
  kinds:
    description: Which kinds to return.
    type: list
    elements: str
    choices: [provisioning_profiles, networks, groups, numbers, accounts, devices, trusted_peers]
    default: [provisioning_profiles, networks, groups, numbers, accounts, devices, trusted_peers]
  rpc_url:
    description:
      - Kamailio's JSON-RPC URL; when set, each account's status says whether it is connected (registered now),
        with each registration's contact, source address and seconds to expiry.
    type: str
  query:
    description:
      - Keep only accounts matching this search (owner, username, callerid, email, description and the account's numbers).
      - Lucene's query syntax, the part that fits - words are AND-ed and match whole words (text is split at punctuation,
        case and accents are ignored); C(*) and C(?) are wildcards; C("Marco Rossi") is a phrase; C(AND), C(OR), C(NOT),
        C(+word), C(-word) and parentheses combine terms; C(field:word), C(field:"phrase") and C(field:(a OR b)) search one
        field (V(owner), V(username), V(callerid), V(email), V(description), V(number)); C(+393471234567) or
        C(number:+39347*) finds an account by any of its numbers.
      - Fuzzy C(~), boosts C(^), ranges and regular expressions are refused with the reason, as is a malformed query.
    type: str
  applies_limit:
    description:
      - How many recorded applies RV(applies) lists, the newest first; V(0) lists them all.
    type: int
    default: 20
"""

EXAMPLES = r"""
- name: Adopt the platform into git
  switchboard.pbx.platform_info:
    dsn: "{{ switchboard_pbx_dsn }}"
    sip_domain: "{{ switchboard_sip_domain }}"
  register: actual

- name: Find the Marcos
  switchboard.pbx.platform_info:
    dsn: "{{ switchboard_pbx_dsn }}"
    sip_domain: "{{ switchboard_sip_domain }}"
    kinds: [accounts]
    query: "Marco*"
"""

RETURN = r"""
state:
  description: The actual state, one list per kind, in the state-file format.
  returned: always
  type: dict
  sample: {accounts: [{number: "+393471234567", group: field-sales, type: pgsm, username: "6783955557"}]}
sip_domain:
  description: The SIP domain whose Kamailio rows were read.
  returned: always
  type: str
  sample: pbx.rossi-logistica.example
database:
  description: The database that was read, without its password (SQLite path, or PostgreSQL host, port, database and user).
  returned: always
  type: dict
  sample: {engine: postgresql, host: 127.0.0.1, port: 5432, database: pbx, user: switchboard}
account_status:
  description:
    - Per returned account, its activation status and whether it is enabled now.
    - C(subscriber_row=missing) when the account's subscriber row (its SIP credential) is gone.
    - C(last_status) and C(last_status_date) - where its lifecycle is (created, installation_sms_sent, installed,
      activation_sms_sent, activated, connected) - and C(history), its timeline as a list of C(at), C(event) and
      C(detail) (created, each SMS sent, failed or unknown, installed, activated, keys revoked), oldest first.
    - SMS that failed or may not have arrived are warnings naming the action that sends them again.
  returned: always
  type: dict
  sample: {"+390212345601": {last_status: created, last_status_date: "2026-11-22 02:29:18", enabled: true,
           connected: true, registrations: [{contact: "sip:4101@10.20.0.15:5060", source: "10.20.0.15:5060",
           expires: 3581, user_agent: "snom D785"}]}}
unmanaged:
  description:
    - Rows of Kamailio's tables (subscriber, dbaliases, grp, usr_preferences) that no account of this SIP domain
      owns, one entry per address, with why. A C(platform) run in overridden mode removes them.
  returned: always
  type: list
  elements: dict
  sample: [{address: kamailio/subscriber/9999@pbx.example.com, rows: ["9999@pbx.example.com"],
            reasons: ["no account has username '9999': Kamailio would accept this credential"]}]
applies:
  description:
    - The audit trail, newest first, at most O(applies_limit) - one entry per run of M(switchboard.pbx.platform),
      M(switchboard.pbx.sip_account) or C(switchboard apply) that was not in check mode, no-op runs included
      (C(change_count=0)); a run that failed left none.
    - C(at) (UTC, as the journal), C(operator) (the user and host that ran the engine), C(controller_user) (the Ansible
      controller's user and host, null outside Ansible), C(door), C(mode), C(state_dir), C(state_commit) and
      C(state_dirty) (the git commit of the state directory and whether its files differed from it; null when it is not in
      git), C(plan_sha256) and C(plan_file) (the plan file and its sha256), C(change_count), C(summary) (counts per kind
      and action) and C(message) (the counts in words).
  returned: always
  type: list
  elements: dict
  sample: [{id: 2, at: "2026-11-22 20:42:24", operator: "ops@ci-runner", controller_user: "ops@ci-runner",
            door: switchboard.pbx.platform, mode: merged, state_dir: /srv/state, state_commit: "4f1c2e0a9b...",
            state_dirty: false, plan_sha256: "9d3b...", plan_file: "/home/ops/.cache/switchboard/reports/plan-20261122T204224.123456Z.json",
            change_count: 3, summary: {accounts: {create: 2}, groups: {create: 1}}, message: "created 2 accounts and 1 group"}]
unreadable:
  description: Rows of the project's tables whose data cannot be read (left out of C(state)), with the table and key.
  returned: always
  type: list
  elements: dict
  sample: [{table: sb_accounts, key: "+390212345601", problem: "table sb_accounts, row number = '+390212345601' ..."}]
"""

from ansible_collections.switchboard.pbx.plugins.module_utils.door import run

KINDS = ["provisioning_profiles", "networks", "groups", "numbers", "accounts", "devices", "trusted_peers"]


def gathered(module, engine):
    params = module.params
    return engine.gathered(params["dsn"], params["sip_domain"], params["kinds"], params["query"], params["rpc_url"],
                           params["applies_limit"])


def main():
    run(dict(kinds=dict(type="list", elements="str", choices=KINDS, default=KINDS), query=dict(type="str"),
             rpc_url=dict(type="str"), applies_limit=dict(type="int", default=20)), gathered)


if __name__ == "__main__":
    main()
