#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: drift
short_description: Report drift between the declared state and the PBX (and the device fleet), never changing anything
version_added: 0.1.0
description:
  - Compares the declared state in O(state_dir) with the PBX as overridden mode would, on a snapshot read without the
    write lock, and writes the drift report to O(report_dir) in each of O(formats) (C(drift.json), C(drift.md),
    C(drift.html), C(drift.junit.xml)).
  - Every object gets a status - V(in_sync), V(changed) (with the changed fields), V(missing) (declared, absent),
    V(unmanaged) (on the platform, undeclared; Kamailio rows no account owns included) or V(unreadable) (a damaged row,
    a device that could not be read; an error, never counted as drift) - and the summary the coverage in percent.
  - Server-owned fields (activation status and dates, generated usernames, the password an activated wizard account
    was given) are never drift. The state's C(drift_ignore) list names drift an operator accepts, with a reason the
    report prints; ignored drift is not counted.
  - With O(fleet), every declared device is read over SSH too (the fleet engine in check mode) and reported as
    C(fleet/NAME).
  - The task never fails because of drift; RV(exit_code) says what a pipeline would (C(playbooks/drift.yml) fails on it
    when asked).
author: Switchboard developers (@switchboard)
extends_documentation_fragment:
  - switchboard.pbx.pbx
attributes:
  check_mode:
    support: full
    description: Read-only in any mode; only the reports are written.
  diff_mode:
    support: none
    description: The drift is in the reports (before/after per changed object, secrets masked), not in a diff.
options:
  state_dir:
    description: Directory whose YAML files (recursively) together are the declared state.
    type: path
    required: true
  secrets_file:
    description:
      - An Ansible-Vault-encrypted YAML mapping of account number to password, read on the controller, as for
        M(switchboard.pbx.platform); a declared password whose HA1 differs from the PBX's is drift (never shown).
    type: path
  report_dir:
    description:
      - Where the reports are written (created when missing). Defaults to C(~/.cache/switchboard/reports).
    type: path
  formats:
    description: The report formats to write; V(md), V(html) and V(junit) need the collection's renderers for them.
    type: list
    elements: str
    choices: [json, md, html, junit]
    default: [json]
  lock_timeout:
    description: Seconds to wait for a database that needs a schema migration to be read (no lock is taken otherwise).
    type: float
    default: 30
  fleet:
    description: Read every declared device over SSH too; nothing is written to a device.
    type: bool
    default: false
  proxy:
    description: With O(fleet), the SIP proxy device lines register through. Defaults to O(sip_domain).
    type: str
  ssh_user:
    description: With O(fleet), the user the devices are read as.
    type: str
  ssh_key_file:
    description: With O(fleet), that user's private key.
    type: path
  known_hosts:
    description: With O(fleet), a known_hosts file naming every device's host key.
    type: path
  connect_timeout:
    description: With O(fleet), seconds for a device to accept the SSH session; one that does not is V(unreadable).
    type: float
    default: 10
  passwords:
    description:
      - Clear passwords by account number. Filled in by the action plugin from vault values and O(secrets_file).
    type: jsonarg
    default: "{}"
  decrypted_files:
    description:
      - Whole-file-vault state files decrypted by the action plugin. Not meant to be set by hand.
    type: jsonarg
    default: "{}"
"""

EXAMPLES = r"""
- name: Report drift as JSON and Markdown
  switchboard.pbx.drift:
    state_dir: "{{ switchboard_state_dir }}"
    dsn: "{{ switchboard_pbx_dsn }}"
    sip_domain: "{{ switchboard_sip_domain }}"
    report_dir: /var/lib/switchboard/reports
    formats: [json, md]
  register: drift

- name: Stop the pipeline on drift
  ansible.builtin.fail:
    msg: "{{ drift.message }}"
  when: drift.exit_code != 0
"""

RETURN = r"""
message:
  description: The summary in one sentence, naming the report to open.
  returned: always
  type: str
  sample: "drift: 2 changed, 1 missing, 1 unmanaged (coverage 97.5 %): see /var/lib/switchboard/reports/drift.html"
summary:
  description:
    - The report model's summary - per status counts, C(total), C(ignored), C(drift), C(coverage), C(exit_code),
      C(actions) and C(by_kind).
  returned: always
  type: dict
exit_code:
  description: 0 in sync, 2 drift, 1 something could not be read (as C(switchboard drift)).
  returned: always
  type: int
drift:
  description: Whether drift that is not ignored was found.
  returned: always
  type: bool
reports:
  description: The report files written, one per format.
  returned: always
  type: list
  elements: str
"""

import json

from ansible_collections.switchboard.pbx.plugins.module_utils import drift, report
from ansible_collections.switchboard.pbx.plugins.module_utils.door import run
from ansible_collections.switchboard.pbx.plugins.module_utils.fleet.reconcile import FleetOptions
from ansible_collections.switchboard.pbx.plugins.module_utils.reports import render


def report_drift(module, engine):
    params = module.params
    options = engine.Options(
        state_dir=params["state_dir"], dsn=params["dsn"], sip_domain=params["sip_domain"], check_mode=True,
        passwords=json.loads(params["passwords"]), lock_timeout=params["lock_timeout"],
        decrypted_files=json.loads(params["decrypted_files"]), secrets_file=params["secrets_file"])
    built, warnings = drift.run(options, fleet_options(module) if params["fleet"] else None)
    paths = render.write(built, list(dict.fromkeys(params["formats"])), params["report_dir"] or report.default_report_dir(),
                         "drift")
    summary = built["summary"]
    return {"changed": False, "message": drift.sentence(built, drift.readable_report(paths)), "summary": summary,
            "exit_code": summary["exit_code"], "drift": bool(summary["drift"]), "reports": paths, "warnings": warnings}


def fleet_options(module):
    params = module.params
    return FleetOptions(state_dir=params["state_dir"], dsn=params["dsn"], sip_domain=params["sip_domain"],
                        proxy=params["proxy"], ssh_user=params["ssh_user"], key_file=params["ssh_key_file"],
                        known_hosts=params["known_hosts"], passwords=json.loads(params["passwords"]),
                        connect_timeout=params["connect_timeout"], check_mode=True)


def main():
    run(dict(state_dir=dict(type="path", required=True),
             secrets_file=dict(type="path"),
             report_dir=dict(type="path"),
             formats=dict(type="list", elements="str", choices=["json", "md", "html", "junit"], default=["json"]),
             lock_timeout=dict(type="float", default=30),
             fleet=dict(type="bool", default=False),
             proxy=dict(type="str"),
             ssh_user=dict(type="str"),
             ssh_key_file=dict(type="path", no_log=False),
             known_hosts=dict(type="path"),
             connect_timeout=dict(type="float", default=10),
             passwords=dict(type="jsonarg", default="{}", no_log=True),
             decrypted_files=dict(type="jsonarg", default="{}", no_log=True)),
        report_drift, required_if=[("fleet", True, ("ssh_user", "ssh_key_file", "known_hosts"))])


if __name__ == "__main__":
    main()
