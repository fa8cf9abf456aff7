# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of switchboard.pbx.platform: only the controller holds the vault secrets, so the
passwords are decrypted here and handed to the module as a no_log argument."""

from __future__ import annotations

import json
import os

import yaml
from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.switchboard.pbx.plugins.module_utils.loader import state_files

VAULT_TAG = b"!vault"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        passwords = {}
        secrets_file = args.pop("secrets_file", None)
        if secrets_file:
            passwords.update(self._secrets_file(secrets_file))
        passwords.update(self._inline_vault_passwords(args.get("state_dir")))
        args["passwords"] = json.dumps(passwords)  # one no_log value: masking 50k separate ones costs seconds
        result.update(self._execute_module(module_name="switchboard.pbx.platform", module_args=args,
                                           task_vars=task_vars))
        return result

    def _load(self, path):
        try:
            return self._loader.load_from_file(path)
        except Exception as exc:  # the loader raises many kinds; all mean "cannot read or decrypt"
            raise AnsibleActionFail("cannot read %s: %s" % (path, to_text(exc)))

    def _secrets_file(self, path):
        # Ansible's own loader keeps provenance for every value, which costs seconds at 50k entries:
        # it only decrypts here, and the C YAML parser reads the mapping.
        read_text = getattr(self._loader, "get_text_file_contents", None)
        if read_text is None:  # ansible-core < 2.19
            data = self._load(path)
        else:
            try:
                # BaseLoader keeps every key and value a string: +390212345601 unquoted stays a number string.
                data = yaml.load(read_text(path).encode("utf-8"), Loader=getattr(yaml, "CBaseLoader", yaml.BaseLoader))
            except Exception as exc:  # cannot read, cannot decrypt, not YAML
                raise AnsibleActionFail("cannot read %s: %s" % (path, to_text(exc)))
        if not isinstance(data, dict):
            raise AnsibleActionFail("%s: must be a mapping of account number to password" % path)
        return {to_text(str(number)): to_text(str(password)) for number, password in data.items()}

    def _inline_vault_passwords(self, state_dir):
        found = {}
        if not state_dir or not os.path.isdir(state_dir):
            return found  # the module reports the missing directory
        for path in state_files(state_dir):
            with open(path, "rb") as handle:
                if VAULT_TAG not in handle.read():
                    continue
            data = self._load(path)
            for account in (data or {}).get("accounts") or []:
                if isinstance(account, dict) and "password" in account and "number" in account:
                    found[to_text(str(account["number"]))] = to_text(str(account["password"]))
        return found
