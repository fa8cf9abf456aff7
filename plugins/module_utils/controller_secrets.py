# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secrets only the controller can decrypt: inline !vault values, the vault-encrypted secrets file and
whole-file-vault state files. The action plugin (switchboard.pbx.platform) and the `switchboard` command both
call controller_secrets() with their own ``decrypt(bytes) -> bytes | None`` (Ansible's vault, given the secrets
of the run), and hand the result to the engine (Options.passwords, Options.decrypted_files).

Files are parsed with the project's own loader, never with Ansible's: its warnings (a repeated key)
print source excerpts, which put clear passwords of neighbouring lines in the console and the log.
Only the vault ciphertexts go through Ansible's vault library."""

from __future__ import annotations

import os

from .errors import SwitchboardError
from .loader import (VaultValue, is_vault_encrypted, parse, read_regular_file, simple_text_mapping, state_files,
                     text_loader)
from .shown import shown

VAULT_TAG = b"!vault"
PLAYBOOK_HINT = "--ask-vault-pass or --vault-password-file"


class SecretsError(SwitchboardError):
    """A secret that cannot be read or decrypted: the run stops before anything is loaded."""


def controller_secrets(state_dir, secrets_file, decrypt, resolve=None, hint=PLAYBOOK_HINT):
    """Return ({number: password} from inline !vault values, whole-file-vault state files and the secrets file,
    {file: text} of the whole-file-vault state files). ``resolve`` turns the secrets file's name into a path
    (Ansible reads it relative to the playbook); ``hint`` says how this door is given a vault secret."""
    reader = _Reader(decrypt, hint)
    state_dir = os.path.expanduser(os.path.expandvars(state_dir)) if state_dir else None
    inline, decrypted = reader.state_dir_secrets(state_dir)
    passwords = {number: password for number, (password, _where) in inline.items()}
    if secrets_file:
        for number, password in reader.secrets_file(secrets_file, (resolve or (lambda p: p))(secrets_file)).items():
            if number in inline:
                raise SecretsError("the password of account %s is given twice: as %s and in the secrets file %s; "
                                   "keep one" % (shown(number), inline[number][1], secrets_file))
            passwords[number] = password
    return passwords, decrypted


class _Reader:
    def __init__(self, decrypt, hint):
        self._decrypt_or_none = decrypt
        self._hint = hint

    def decrypted_or_none(self, ciphertext):
        try:
            return self._decrypt_or_none(ciphertext.encode("utf-8") if isinstance(ciphertext, str) else ciphertext)
        except Exception:  # the vault library raises several kinds; none of their texts is needed here
            return None

    def decrypt(self, ciphertext, what):
        clear = self.decrypted_or_none(ciphertext)
        if clear is None:
            raise SecretsError("%s is encrypted with Ansible Vault and no vault secret given to this run decrypts "
                               "it (%s)" % (what, self._hint))
        return clear

    def secrets_file(self, name, path):
        """The secrets file: a vault-encrypted YAML mapping of account number to password. A plain one is refused:
        its passwords would sit in clear next to the state."""
        content, problem = read_regular_file(path)
        if problem:
            raise SecretsError("the secrets file %s %s" % (name, problem[0]))
        if not is_vault_encrypted(content):
            raise SecretsError("the secrets file %s is not encrypted with Ansible Vault: encrypt it "
                               "(ansible-vault encrypt %s) or put the passwords inline as !vault values" % (name, name))
        text = _text(self.decrypt(content, "the secrets file %s" % name), "the secrets file %s" % name)
        data = simple_text_mapping(text)
        if data is None:
            document, problems = parse(text, name, text_loader())
            if problems:
                raise SecretsError("the secrets file %s" % "\n".join(str(p) for p in problems))
            data = document.data
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise SecretsError("the secrets file %s must be a mapping of account number to password "
                               "(\"+390212345601\": the-password)" % name)
        return {str(number): password for number, password in data.items()}

    def state_dir_secrets(self, state_dir):
        """Return ({number: (password, where)} of inline !vault values and whole-file-vault files, {file: text} of
        the whole-file-vault files decrypted). Files that do not parse are left to the loader, which reports them."""
        found, decrypted = {}, {}
        if not state_dir or not os.path.isdir(state_dir):
            return found, decrypted  # the loader reports the missing directory
        paths, _problems = state_files(state_dir)  # the loader reports these too
        for path in paths:
            content, problem = read_regular_file(path)
            if problem:
                continue
            rel = os.path.relpath(path, state_dir)
            if is_vault_encrypted(content):
                clear = self.decrypted_or_none(content)
                if clear is None:
                    continue  # the loader says so, with every other problem
                decrypted[rel] = _text(clear, rel)
                self._collect(found, decrypted[rel], rel, sealed=True)
            elif VAULT_TAG in content:
                self._collect(found, _text(content, rel), rel, sealed=False)
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
                clear = self.decrypted_or_none(password.ciphertext)
                if clear is not None:  # else the loader reports it with its path
                    found[account["number"]] = (_text(clear, rel), where)
            elif isinstance(password, str) and sealed:
                found[account["number"]] = (password, where)


def _text(content, what):
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        raise SecretsError("%s is not UTF-8 once decrypted" % what)
