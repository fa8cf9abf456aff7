# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of switchboard.pbx.device: passwords as for switchboard.pbx.fleet, and the device is
the inventory host the task runs for unless `name` says otherwise."""

from __future__ import annotations

from ansible_collections.switchboard.pbx.plugins.action.fleet import ActionModule as FleetAction


class ActionModule(FleetAction):
    MODULE = "switchboard.pbx.device"

    def module_args(self, args, task_vars):
        args.setdefault("name", task_vars.get("inventory_hostname"))
        return args
