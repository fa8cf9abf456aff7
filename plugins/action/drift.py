# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of switchboard.pbx.drift: the declared passwords (inline !vault values, the secrets file,
whole-file-vault state files) are decrypted here by switchboard.pbx.platform's own code, so that a password
that differs on the PBX is drift, and handed to the module as no_log arguments."""

from __future__ import annotations

import json

from ansible.plugins.action import ActionBase

from ansible_collections.switchboard.pbx.plugins.action.platform import ActionModule as PlatformAction


class ActionModule(PlatformAction):
    MODULE = "switchboard.pbx.drift"

    def run(self, tmp=None, task_vars=None):
        result = ActionBase.run(self, tmp, task_vars)  # the module to run is this door's, not platform's
        args = dict(self._task.args)
        passwords, decrypted = self.controller_secrets(args)
        args["passwords"] = json.dumps(passwords)
        if decrypted:
            args["decrypted_files"] = json.dumps(decrypted)
        result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
        return result
