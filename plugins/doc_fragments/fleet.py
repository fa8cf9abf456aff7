# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The options switchboard.pbx.fleet and switchboard.pbx.device share: one engine, two doors.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    support: full
    description: Every device is connected to and read; nothing is written; the result says what would change.
  diff_mode:
    support: full
    description: Each device that differs is shown with its lines and hot-desking before and after; passwords are always masked.
options:
  state_dir:
    description:
      - Directory whose YAML files (recursively) together are the declared state; its C(devices) and their channel bindings are provisioned.
    type: path
    required: true
  proxy:
    description:
      - The SIP proxy (C(ADDRESS:PORT)) every device line registers through. Defaults to O(sip_domain).
    type: str
  rpc_url:
    description:
      - Kamailio's JSON-RPC URL (C(http://IP:PORT/RPC)), usually the inventory variable C(switchboard_pbx_rpc_url).
      - After the writes, every line of every provisioned device must be registered on Kamailio from the device's IP
        within O(verify_timeout), otherwise the device is V(not_registered).
      - Without it registrations are not verified and the result carries a warning.
    type: str
  ssh_user:
    description: The user the devices are provisioned as over SSH.
    type: str
    required: true
  ssh_key_file:
    description: The private key that user authenticates with (key-only; no password is ever sent).
    type: path
    required: true
  known_hosts:
    description:
      - A known_hosts file naming every device's host key. A device whose key is not in it is V(auth_failed) and nothing is sent to it.
    type: path
    required: true
  connect_timeout:
    description: Seconds for a device to accept the SSH session; a device that does not is V(unreachable).
    type: float
    default: 10
  command_timeout:
    description: Seconds for a device to answer one command; a device that does not is V(timeout).
    type: float
    default: 20
  verify_timeout:
    description: Seconds for all written lines to register on Kamailio.
    type: float
    default: 10
  sip_port:
    description:
      - The port each device's phone listens on at the device's own address (platform C(linux_baresip)); V(0) lets the phone choose a free one.
    type: int
    default: 5060
  secrets_file:
    description:
      - An Ansible-Vault-encrypted YAML mapping of account number to password, read on the controller, as for M(switchboard.pbx.platform).
      - Inline C(!vault) passwords in O(state_dir) are decrypted on the controller too.
    type: path
  passwords:
    description:
      - Clear passwords by account number, as a mapping or its JSON text.
      - Filled in by the action plugin from vault values and O(secrets_file); not meant to be set by hand.
    type: jsonarg
    default: "{}"
notes:
  - "Runs where the devices, the PBX database and Kamailio's JSON-RPC are reachable: the controller (C(connection=local))."
  - Only plain accounts can be bound to a device channel; a wizard account's password is never known, so its device is V(invalid).
  - A device's SSH port is the C(port) of its declaration in the state (default 22).
requirements:
  - netmiko
"""
