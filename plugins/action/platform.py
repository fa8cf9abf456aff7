# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of switchboard.pbx.platform: only the controller holds the vault secrets, so the
passwords (inline !vault values, the secrets file, whole-file-vault state files) are decrypted here
and handed to the module as no_log arguments.

Files are parsed with the project's own loader, never with Ansible's: its warnings (a repeated key)
print source excerpts, which put clear passwords of neighbouring lines in the console and the log.
Only the vault ciphertexts go through Ansible's vault library."""

from __future__ import annotations

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.switchboard.pbx.plugins.module_utils.loader import (
    VaultValue, is_vault_encrypted, parse, read_regular_file, simple_text_mapping, state_files, text_loader)
from ansible_collections.switchboard.pbx.plugins.module_utils.provenance import operator
from ansible_collections.switchboard.pbx.plugins.module_utils.shown import shown

VAULT_TAG = b"!vault"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = dict(self._task.args)
        passwords, decrypted = self.controller_secrets(args)
        args["passwords"] = json.dumps(passwords)  # one no_log value: masking 50k separate ones costs seconds
        if decrypted:
            args["decrypted_files"] = json.dumps(decrypted)
        args["controller_user"] = operator()  # who ran the playbook, for the audit trail (the module may run as another)
        result.update(self._execute_module(module_name="switchboard.pbx.platform", module_args=args,
                                           task_vars=task_vars))
        return result

    def controller_secrets(self, args):
        """Return ({number: password} from inline !vault values, whole-file-vault state files and the secrets file,
        {file: text} of the whole-file-vault state files): what only the controller can decrypt."""
        state_dir = args.get("state_dir")
        inline, decrypted = self._state_dir_secrets(os.path.expanduser(os.path.expandvars(state_dir)) if state_dir else None)
        passwords = {number: password for number, (password, _where) in inline.items()}
        secrets_file = args.get("secrets_file")
        if secrets_file:
            for number, password in self._secrets_file(secrets_file).items():
                if number in inline:
                    raise AnsibleActionFail("the password of account %s is given twice: as %s and in the secrets file %s; "
                                            "keep one" % (shown(number), inline[number][1], secrets_file))
                passwords[number] = password
        return passwords, decrypted

    def _decrypt(self, ciphertext, what):
        clear = self._decrypted_or_none(ciphertext)
        if clear is None:
            raise AnsibleActionFail("%s is encrypted with Ansible Vault and no vault secret given to this run decrypts "
                                    "it (--ask-vault-pass or --vault-password-file)" % what)
        return clear

    def _decrypted_or_none(self, ciphertext):
        try:
            return self._loader._vault.decrypt(to_bytes(ciphertext))
        except Exception:  # the vault library raises several kinds; none of their texts is needed here
            return None

    def _secrets_file(self, path):
        """The secrets file: a vault-encrypted YAML mapping of account number to password. A plain one is refused:
        its passwords would sit in clear next to the state."""
        content, problem = read_regular_file(self._loader.path_dwim(path))  # relative to the playbook, as Ansible reads files
        if problem:
            raise AnsibleActionFail("the secrets file %s %s" % (path, problem[0]))
        if not is_vault_encrypted(content):
            raise AnsibleActionFail("the secrets file %s is not encrypted with Ansible Vault: encrypt it "
                                    "(ansible-vault encrypt %s) or put the passwords inline as !vault values" % (path, path))
        text = self._text(self._decrypt(content, "the secrets file %s" % path), "the secrets file %s" % path)
        data = simple_text_mapping(text)
        if data is None:
            document, problems = parse(text, path, text_loader())
            if problems:
                raise AnsibleActionFail("the secrets file %s" % "\n".join(str(p) for p in problems))
            data = document.data
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise AnsibleActionFail("the secrets file %s must be a mapping of account number to password "
                                    "(\"+390212345601\": the-password)" % path)
        return {to_text(number): to_text(password) for number, password in data.items()}

    @staticmethod
    def _text(content, what):
        try:
            return content.decode("utf-8")
        except UnicodeDecodeError:
            raise AnsibleActionFail("%s is not UTF-8 once decrypted" % what)

    def _state_dir_secrets(self, state_dir):
        """Return ({number: (password, where)} of inline !vault values and whole-file-vault files, {file: text} of
        the whole-file-vault files decrypted). Files that do not parse are left to the module, which reports them."""
        found, decrypted = {}, {}
        if not state_dir or not os.path.isdir(state_dir):
            return found, decrypted  # the module reports the missing directory
        paths, _problems = state_files(state_dir)  # the module reports these too
        for path in paths:
            content, problem = read_regular_file(path)
            if problem:
                continue
            rel = os.path.relpath(path, state_dir)
            if is_vault_encrypted(content):
                clear = self._decrypted_or_none(content)
                if clear is None:
                    continue  # the module says so, with every other problem
                decrypted[rel] = self._text(clear, rel)
                self._collect(found, decrypted[rel], rel, sealed=True)
            elif VAULT_TAG in content:
                self._collect(found, self._text(content, rel), rel, sealed=False)
        return found, decrypted

    def _collect(self, found, text, rel, sealed):
        """Passwords of one file: its !vault values, and in a whole-file-vault file (``sealed``) its plain ones."""
        where = "a password in the vault-encrypted file %s" % rel if sealed else "!vault in %s" % rel
        document, problems = parse(text, rel)
        if problems or not isinstance(document.data, dict) or not isinstance(document.data.get("accounts"), list):
            return
        for account in document.data["accounts"]:
            if not isinstance(account, dict) or not isinstance(account.get("number"), str):
                continue
            password = account.get("password")
            if isinstance(password, VaultValue):
                clear = self._decrypted_or_none(password.ciphertext)
                if clear is not None:  # else the module reports it with its path
                    found[account["number"]] = (self._text(clear, rel), where)
            elif isinstance(password, str) and sealed:
                found[account["number"]] = (password, where)
