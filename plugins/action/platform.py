# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of switchboard.pbx.platform: only the controller holds the vault secrets, so the
passwords (inline !vault values, the secrets file, whole-file-vault state files) are decrypted here, by
module_utils/controller_secrets (which the `switchboard` command shares), and handed to the module as
no_log arguments."""

from __future__ import annotations

import json

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.switchboard.pbx.plugins.module_utils.controller_secrets import SecretsError, controller_secrets
from ansible_collections.switchboard.pbx.plugins.module_utils.provenance import operator


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    MODULE = "switchboard.pbx.platform"
    AUDITED = True  # the module records the controller's user in the audit trail

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        passwords, decrypted = self.controller_secrets(args)
        args["passwords"] = json.dumps(passwords)  # one no_log value: masking 50k separate ones costs seconds
        if decrypted:
            args["decrypted_files"] = json.dumps(decrypted)
        if self.AUDITED:  # who ran the playbook, for the audit trail (the module may run as another)
            args["controller_user"] = operator()
        result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
        return result

    def controller_secrets(self, args):
        """Return ({number: password}, {file: text} of the whole-file-vault state files): what only the controller
        can decrypt, with this run's vault secrets; the secrets file is read relative to the playbook."""
        try:
            return controller_secrets(args.get("state_dir"), args.get("secrets_file"), self._loader._vault.decrypt,
                                      resolve=self._loader.path_dwim)
        except SecretsError as exc:
            raise AnsibleActionFail(str(exc))
