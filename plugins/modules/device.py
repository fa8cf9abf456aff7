#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device
short_description: Provision one declared device (desk phone) with its bound accounts, over SSH
version_added: 0.1.0
description:
  - The same engine as M(switchboard.pbx.fleet), for one device, for C(--limit) and ad-hoc work through the
    C(switchboard.pbx.fleet) inventory, whose hosts are the declared devices.
  - Reads the device's lines over SSH, writes only what differs from its declared bindings, sets hot-desking
    (off while any user is bound, on when none is), then verifies its registrations on Kamailio.
  - The task fails when the device is V(unreachable), V(auth_failed), V(timeout), V(not_registered),
    V(device_error) or V(invalid), with a message saying why.
  - For the whole fleet use M(switchboard.pbx.fleet), one task with a pool of sessions, much faster than a play over every host.
author: Switchboard developers (@switchboard)
extends_documentation_fragment:
  - switchboard.pbx.pbx
  - switchboard.pbx.fleet
options:
  name:
    description:
      - The device's name in the declared state. Defaults to the inventory host's name (C(inventory_hostname)).
    type: str
    required: true
"""

EXAMPLES = r"""
# hosts from the switchboard.pbx.fleet inventory plugin; the work runs on the controller
- name: Provision the devices of this play (use --limit to pick them)
  hosts: linux_baresip
  connection: local
  gather_facts: false
  tasks:
    - name: Provision this device
      switchboard.pbx.device:
        state_dir: "{{ switchboard_state_dir }}"
        dsn: "{{ switchboard_pbx_dsn }}"
        sip_domain: "{{ switchboard_sip_domain }}"
        rpc_url: "{{ switchboard_pbx_rpc_url }}"
        ssh_user: provisioning
        ssh_key_file: /etc/switchboard/fleet_ed25519
        known_hosts: /etc/switchboard/fleet_known_hosts
"""

RETURN = r"""
status:
  description: The device's result.
  returned: always
  type: str
  sample: changed
device:
  description:
    - The device's name, address, platform, status, C(reason) when it failed, SSH C(writes) made, its state C(before)
      (as read; null when it could not be read) and C(after), and the C(differences). Passwords appear only as C(********).
  returned: always
  type: dict
  sample:
    name: desk-1
    address: 10.20.0.15:22
    platform: linux_baresip
    status: unchanged
    writes: 0
    before: {lines: [{index: 1, username: "4101", domain: pbx.example.com, proxy: "10.20.0.5:5060", password: "********"}],
             hotdesking: false, phone_running: true}
    after: {lines: [{index: 1, username: "4101", domain: pbx.example.com, proxy: "10.20.0.5:5060", password: "********"}],
            hotdesking: false, phone_running: true}
    differences: []
"""

from ansible_collections.switchboard.pbx.plugins.module_utils.door import run
from ansible_collections.switchboard.pbx.plugins.module_utils.fleet import reconcile
from ansible_collections.switchboard.pbx.plugins.module_utils.fleet.arguments import FLEET_ARGS, fleet_options


def provision(module, _engine):
    result = reconcile.run(fleet_options(module, workers=1, devices=(module.params["name"],)))
    [device] = result.pop("devices")
    result.update(status=device["status"], device=device)
    for name in ("summary", "message", "failed_devices"):
        result.pop(name)
    return result


def main():
    run(dict(FLEET_ARGS, name=dict(type="str", required=True)), provision)


if __name__ == "__main__":
    main()
