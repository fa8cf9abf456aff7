# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The arguments both fleet doors share (documented in doc_fragments/fleet.py) and their engine options."""

from __future__ import annotations

import importlib.util
import json

from ansible.module_utils.basic import missing_required_lib

from ..errors import SwitchboardError
from .reconcile import FleetOptions

FLEET_ARGS = dict(
    state_dir=dict(type="path", required=True),
    proxy=dict(type="str"),
    rpc_url=dict(type="str"),
    ssh_user=dict(type="str", required=True),
    ssh_key_file=dict(type="path", required=True, no_log=False),
    known_hosts=dict(type="path", required=True),
    connect_timeout=dict(type="float", default=10),
    command_timeout=dict(type="float", default=20),
    verify_timeout=dict(type="float", default=10),
    sip_port=dict(type="int", default=5060),
    secrets_file=dict(type="path"),
    passwords=dict(type="jsonarg", default="{}", no_log=True),
)


def fleet_options(module, **chosen):
    """FleetOptions from the module's parameters; `chosen` sets what only one door has (workers, devices...)."""
    if importlib.util.find_spec("netmiko") is None:
        raise SwitchboardError(missing_required_lib("netmiko"))
    params = module.params
    return FleetOptions(
        state_dir=params["state_dir"], dsn=params["dsn"], sip_domain=params["sip_domain"], proxy=params["proxy"],
        ssh_user=params["ssh_user"], key_file=params["ssh_key_file"], known_hosts=params["known_hosts"],
        passwords=json.loads(params["passwords"]), rpc_url=params["rpc_url"],
        connect_timeout=params["connect_timeout"], command_timeout=params["command_timeout"],
        verify_timeout=params["verify_timeout"], sip_port=params["sip_port"], check_mode=module.check_mode, **chosen)
