#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: fleet
short_description: Provision every declared device (desk phone) with its bound accounts, over SSH, in one task
version_added: 0.1.0
description:
  - For every device declared in O(state_dir), computes the lines it should hold (channel index, the bound account's
    SIP username as the PBX knows it, O(sip_domain), O(proxy) and the account's password) and its hot-desking
    (off while any user is bound, on when none is).
  - Then, in a bounded pool of O(workers) SSH sessions, connects to each device, reads its lines, and writes only what
    differs. A device that is already right gets no write at all.
  - Then verifies on Kamailio (O(rpc_url)) that every line is registered from its device's IP.
  - Each device ends as V(unchanged), V(changed), V(unreachable), V(auth_failed), V(timeout), V(not_registered),
    V(device_error) or V(invalid). A failed device never stops the others and is never reported as drift.
  - The task fails at the end with a message naming each failed device and why, unless O(max_fail_percentage) allows the failures.
  - For one device (C(--limit), ad-hoc work through the C(switchboard.pbx.fleet) inventory) use M(switchboard.pbx.device).
author: Switchboard developers (@switchboard)
extends_documentation_fragment:
  - switchboard.pbx.pbx
  - switchboard.pbx.fleet
options:
  workers:
    description: How many devices are worked on at the same time (one SSH session each).
    type: int
    default: 10
  max_fail_percentage:
    description:
      - Like Ansible's play keyword, the task fails only when more than this percentage of the devices failed;
        below it the failures are a warning. Unset, any failed device fails the task.
    type: float
"""

EXAMPLES = r"""
- name: Provision the fleet after the PBX
  switchboard.pbx.fleet:
    state_dir: "{{ switchboard_state_dir }}"
    dsn: "{{ switchboard_pbx_dsn }}"
    sip_domain: "{{ switchboard_sip_domain }}"
    proxy: 10.20.0.5:5060
    rpc_url: "{{ switchboard_pbx_rpc_url }}"
    secrets_file: "{{ switchboard_secrets_file | default(omit) }}"
    ssh_user: provisioning
    ssh_key_file: /etc/switchboard/fleet_ed25519
    known_hosts: /etc/switchboard/fleet_known_hosts
    workers: 20
    max_fail_percentage: 5
  register: fleet

- name: Show what happened per device
  ansible.builtin.debug:
    var: fleet.summary
"""

RETURN = r"""
message:
  description: The counts of RV(summary) in a sentence, for the task output.
  returned: always
  type: str
  sample: "20 devices: 16 unchanged, 3 changed and 1 unreachable"
summary:
  description: Number of devices per result.
  returned: always
  type: dict
  sample: {changed: 3, unchanged: 16, unreachable: 1}
devices:
  description:
    - One entry per device, by name, with its V(status), the C(reason) when it failed, the SSH C(writes) made,
      its state C(before) (as read; null when it could not be read) and C(after), and the C(differences).
    - Passwords appear only as C(********), marked C((changed)) when the device's differs.
  returned: always
  type: list
  elements: dict
  sample:
    - name: desk-1
      address: 10.20.0.15:22
      platform: linux_baresip
      status: changed
      writes: 5
      before: {lines: [], hotdesking: true, phone_running: false}
      after: {lines: [{index: 1, username: "4101", domain: pbx.example.com, proxy: "10.20.0.5:5060",
              password: "******** (changed)"}], hotdesking: false, phone_running: true}
      differences: ["channel 1: added (4101)", "phone: stopped, to be started", "hotdesking: on -> off"]
failed_devices:
  description: Each failed device, its address, its result and why.
  returned: always
  type: list
  elements: str
  sample: ["desk-7 (10.20.0.21:22): unreachable: Connection refused"]
seconds:
  description: Wall-clock seconds the run took.
  returned: always
  type: float
"""

from ansible_collections.switchboard.pbx.plugins.module_utils.door import run
from ansible_collections.switchboard.pbx.plugins.module_utils.fleet import reconcile
from ansible_collections.switchboard.pbx.plugins.module_utils.fleet.arguments import FLEET_ARGS, fleet_options


def provision(module, _engine):
    return reconcile.run(fleet_options(module, workers=module.params["workers"],
                                       max_fail_percentage=module.params["max_fail_percentage"]))


def main():
    run(dict(FLEET_ARGS, workers=dict(type="int", default=10), max_fail_percentage=dict(type="float")), provision)


if __name__ == "__main__":
    main()
