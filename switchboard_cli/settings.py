# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The options every command shares: the same settings as the inventory variables (switchboard_state_dir, ...),
from flags, given before or after the command name (`switchboard --dsn X plan`, `switchboard plan --dsn X`),
else the environment (SWITCHBOARD_*)."""

from __future__ import annotations

import dataclasses
import functools

import click

from provisioning.collection import module_utils

# name -> (environment variable, click keyword arguments)
SHARED = {
    "state_dir": ("SWITCHBOARD_STATE_DIR", dict(type=click.Path(file_okay=False),
                                                help="the declared state: a directory of YAML files")),
    "dsn": ("SWITCHBOARD_PBX_DSN", dict(help="the PBX database, sqlite:///ABS/PATH or postgresql://... (prefer the "
                                             "environment: a password in a flag shows in the process list)")),
    "sip_domain": ("SWITCHBOARD_SIP_DOMAIN", dict(help="the platform's SIP domain")),
    "secrets_file": ("SWITCHBOARD_SECRETS_FILE", dict(type=click.Path(dir_okay=False),
                                                      help="vault-encrypted passwords by account number")),
    "mode": ("SWITCHBOARD_MODE", dict(type=click.Choice(["merged", "overridden"]),
                                      help="merged leaves undeclared objects alone, overridden removes them "
                                           "[default: merged]")),
    "report_dir": ("SWITCHBOARD_REPORT_DIR", dict(type=click.Path(file_okay=False),
                                                  help="where plan files are kept")),
}


def _options(on_group):
    """The shared flags; on the group they read the environment, on a command they only override it."""
    options = []
    for name, (variable, kwargs) in SHARED.items():
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
        return function(dataclasses.replace(ctx.find_object(Settings), **given), **values)
    return _decorated(command, _options(on_group=False))


@dataclasses.dataclass
class Settings:
    state_dir: str = None
    dsn: str = None
    sip_domain: str = None
    secrets_file: str = None
    mode: str = None
    report_dir: str = None

    def require(self, *names):
        """The settings a command needs, each named by its flag and variable when missing."""
        missing = [name for name in names if not getattr(self, name)]
        if missing:
            raise click.UsageError("; ".join("--%s (or %s) is required" % (name.replace("_", "-"), SHARED[name][0])
                                             for name in missing))

    def engine_options(self, check_mode=False, **more):
        self.require("state_dir", "dsn", "sip_domain")
        engine = module_utils("engine")
        more.setdefault("door", click.get_current_context().command_path)  # "switchboard apply": the audit trail's door
        return engine.Options(state_dir=self.state_dir, dsn=self.dsn, sip_domain=self.sip_domain,
                              mode=self.mode or "merged", check_mode=check_mode, report_dir=self.report_dir,
                              secrets_file=self.secrets_file, **more)
