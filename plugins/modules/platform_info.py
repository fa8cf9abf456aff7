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
      - Keep only accounts matching this search (owner, username, callerid, email, description).
      - Words are AND-ed and match whole words; C(*) and C(?) are wildcards; C(field:pattern) searches one field.
    type: str
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
account_status:
  description: Per returned account, its activation status and whether it is enabled now.
  returned: always
  type: dict
  sample: {"+390212345601": {last_status: created, last_status_date: "2026-11-22 02:29:18", enabled: true,
           connected: true, registrations: [{contact: "sip:4101@10.20.0.15:5060", source: "10.20.0.15:5060",
           expires: 3581, user_agent: "snom D785"}]}}
"""

from ansible_collections.switchboard.pbx.plugins.module_utils.door import run

KINDS = ["provisioning_profiles", "networks", "groups", "numbers", "accounts", "devices", "trusted_peers"]


def gathered(module, engine):
    params = module.params
    return engine.gathered(params["dsn"], params["sip_domain"], params["kinds"], params["query"], params["rpc_url"])


def main():
    run(dict(kinds=dict(type="list", elements="str", choices=KINDS, default=KINDS), query=dict(type="str"),
             rpc_url=dict(type="str")), gathered)


if __name__ == "__main__":
    main()
