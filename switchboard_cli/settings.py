# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options every command shares: the same settings as the inventory variables (switchboard_state_dir, ...),
from flags, given before or after the command name (`switchboard --dsn X plan`, `switchboard plan --dsn X`),
else the environment (SWITCHBOARD_*), else the inventory file (--inventory): flags > environment > inventory."""

from __future__ import annotations

import dataclasses
import functools
import os

import click

from provisioning.collection import module_utils

# name -> (environment variable, inventory variable, click keyword arguments)
SHARED = {
    "state_dir": ("SWITCHBOARD_STATE_DIR", "switchboard_state_dir", dict(
        type=click.Path(file_okay=False), help="the declared state: a directory of YAML files")),
    "dsn": ("SWITCHBOARD_PBX_DSN", "switchboard_pbx_dsn", dict(
        help="the PBX database, sqlite:///ABS/PATH or postgresql://... (prefer the environment: a password in a "
             "flag shows in the process list)")),
    "sip_domain": ("SWITCHBOARD_SIP_DOMAIN", "switchboard_sip_domain", dict(help="the platform's SIP domain")),
    "secrets_file": ("SWITCHBOARD_SECRETS_FILE", "switchboard_secrets_file", dict(
        type=click.Path(dir_okay=False), help="vault-encrypted passwords by account number")),
    "mode": ("SWITCHBOARD_MODE", "switchboard_mode", dict(
        type=click.Choice(["merged", "overridden"]),
        help="merged leaves undeclared objects alone, overridden removes them [default: merged]")),
    "report_dir": ("SWITCHBOARD_REPORT_DIR", "switchboard_report_dir", dict(
        type=click.Path(file_okay=False), help="where plan files are kept")),
    "rpc_url": ("SWITCHBOARD_PBX_RPC_URL", "switchboard_pbx_rpc_url", dict(
        help="Kamailio's JSON-RPC URL: registrations of tightened accounts are dropped")),
    "sms_gateway": ("SWITCHBOARD_SMS_GATEWAY", "switchboard_sms_gateway", dict(
        help="file:///DIR or kannel://USER@HOST:PORT?smsc=ID (its password: SWITCHBOARD_SMS_PASSWORD)")),
    "sms_rate": ("SWITCHBOARD_SMS_RATE", "switchboard_sms_rate", dict(type=float, help="SMS per second")),
    "lock_timeout": ("SWITCHBOARD_PBX_LOCK_TIMEOUT", "switchboard_pbx_lock_timeout", dict(
        type=float, help="seconds to wait for the database's write lock [default: 30]")),
    "keep_plan_files": ("SWITCHBOARD_KEEP_PLAN_FILES", "switchboard_keep_plan_files", dict(
        type=int, help="the newest plan files kept in the report dir, 0: all [default: 50]")),
    "inventory": ("SWITCHBOARD_INVENTORY", None, dict(
        type=click.Path(exists=True), help="an Ansible inventory whose switchboard_* variables are the defaults")),
    "host": ("SWITCHBOARD_HOST", None, dict(
        help="the inventory host to read them from [default: the only host not in group fleet]")),
    "vault_password_file": ("ANSIBLE_VAULT_PASSWORD_FILE", None, dict(
        type=click.Path(dir_okay=False),
        help="decrypts !vault values, vault-encrypted state files and the secrets file (a file, or a script printing "
             "the password, as Ansible reads it)")),
}
# Secrets have no flag (a flag shows in the process list): the environment or the inventory (vault) only.
SECRET_SETTINGS = {"sms_password": ("SWITCHBOARD_SMS_PASSWORD", "switchboard_sms_password")}
VAULT_HINT = "--vault-password-file or ANSIBLE_VAULT_PASSWORD_FILE"


def _options(on_group):
    """The shared flags; on the group they read the environment, on a command they only override it."""
    options = []
    for name, (variable, _inventory, kwargs) in SHARED.items():
        kwargs = dict(kwargs)
        if on_group:
            kwargs.update(envvar=variable, help="%s (env %s)" % (kwargs["help"], variable))
        options.append(click.option("--" + name.replace("_", "-"), name, **kwargs))
    return options


def _decorated(function, options):
    return functools.reduce(lambda f, option: option(f), reversed(options), function)


def settings_options(function):
    return _decorated(function, _options(on_group=True))


def with_settings(function):
    """A command that takes the shared flags too; it is called with the merged Settings first."""
    @functools.wraps(function)
    @click.pass_context
    def command(ctx, **values):
        given = {name: values.pop(name) for name in SHARED if name in values}
        given = {name: value for name, value in given.items() if value is not None}
        return function(dataclasses.replace(ctx.find_object(Settings), **given).completed(), **values)
    return _decorated(command, _options(on_group=False))


@dataclasses.dataclass
class Settings:
    state_dir: str = None
    dsn: str = None
    sip_domain: str = None
    secrets_file: str = None
    mode: str = None
    report_dir: str = None
    rpc_url: str = None
    sms_gateway: str = None
    sms_rate: float = None
    lock_timeout: float = None
    keep_plan_files: int = None
    inventory: str = None
    host: str = None
    vault_password_file: str = None
    sms_password: str = dataclasses.field(default=None, repr=False)

    def completed(self):
        """The secrets from the environment, then what flags and environment left unset from the inventory."""
        settings = dataclasses.replace(self, **{name: os.environ[variable] for name, (variable, _v)
                                                in SECRET_SETTINGS.items() if os.environ.get(variable)})
        if not settings.inventory:
            return settings
        from .inventory import inventory_settings

        variables = {name: spec[1] for name, spec in list(SHARED.items()) + list(SECRET_SETTINGS.items()) if spec[1]}
        found = inventory_settings(settings.inventory, settings.host, settings.vault_password_file, variables)
        unset = {name: _converted(name, value, settings.inventory) for name, value in found.items()
                 if getattr(settings, name) is None}
        return dataclasses.replace(settings, **unset)

    def require(self, *names):
        """The settings a command needs, each named by its flag and variable when missing."""
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            raise click.UsageError("; ".join("--%s (or %s, or %s in --inventory) is required"
                                             % (name.replace("_", "-"), SHARED[name][0], SHARED[name][1])
                                             for name in missing))

    def engine_options(self, check_mode=False, **more):
        self.require("state_dir", "dsn", "sip_domain")
        engine = module_utils("engine")
        more.setdefault("door", click.get_current_context().command_path)  # "switchboard apply": the audit trail's door
        passwords, decrypted = self.controller_secrets()
        optional = {name: getattr(self, name) for name in ("rpc_url", "sms_gateway", "sms_rate", "sms_password",
                                                           "lock_timeout", "keep_plan_files")
                    if getattr(self, name) is not None}
        return engine.Options(state_dir=self.state_dir, dsn=self.dsn, sip_domain=self.sip_domain,
                              mode=self.mode or "merged", check_mode=check_mode, report_dir=self.report_dir,
                              secrets_file=self.secrets_file, passwords=passwords, decrypted_files=decrypted,
                              **optional, **more)

    def controller_secrets(self):
        """The passwords only a vault secret opens; without --vault-password-file, the vault values found are
        reported by the loader with their paths."""
        secrets = module_utils("controller_secrets")
        decrypt = vault_decrypter(self.vault_password_file) if self.vault_password_file else _no_vault_secret
        return secrets.controller_secrets(self.state_dir, self.secrets_file, decrypt, hint=VAULT_HINT)


def _no_vault_secret(_ciphertext):
    return None


def vault_decrypter(password_file):
    """Ansible's vault with the secret of ``password_file`` (a file holding the password, or an executable script
    printing it, as Ansible reads it); imported here only, so that commands without a vault stay fast."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultLib, get_file_vault_secret

    try:
        secret = get_file_vault_secret(filename=password_file, vault_id="default", loader=DataLoader())
        secret.load()
    except Exception as exc:  # AnsibleError's text names the file and why (missing, empty, script failed)
        raise click.UsageError("the vault password file %s cannot be read: %s" % (password_file, exc))
    return VaultLib([("default", secret)]).decrypt


def _converted(name, value, inventory):
    """An inventory value checked like the flag's (a mode that is no choice, a rate that is no number)."""
    kind = SHARED[name][2].get("type") if name in SHARED else None
    if value is None or kind is None:
        return value if value is None else str(value)
    try:
        return click.types.convert_type(kind).convert(value, None, None)
    except click.BadParameter as exc:
        raise click.UsageError("%s: %s: %s" % (inventory, SHARED[name][1], exc.format_message()))
