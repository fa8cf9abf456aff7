# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of switchboard.pbx.fleet: the passwords of the accounts bound to devices come from the same
places as for switchboard.pbx.platform (inline !vault values, the secrets file), decrypted here by that
plugin's own code, and go to the module as one no_log argument."""

from __future__ import annotations

import json

from ansible.plugins.action import ActionBase

from ansible_collections.switchboard.pbx.plugins.action.platform import ActionModule as PlatformAction


class ActionModule(PlatformAction):
    MODULE = "switchboard.pbx.fleet"

    def run(self, tmp=None, task_vars=None):
        result = ActionBase.run(self, tmp, task_vars)  # the module to run is this door's, not platform's
        args = self.module_args(dict(self._task.args), task_vars or {})
        passwords, _decrypted = self.controller_secrets(args)
        args.pop("secrets_file", None)
        args["passwords"] = json.dumps(passwords)
        result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
        return result

    def module_args(self, args, task_vars):
        """The task's arguments as the module gets them (the per-device door adds its default name)."""
        return args
