# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""switchboard: plan, apply, drift and the rest, on the same engine as the modules.

Exit codes, the same for every command and documented in the README: 0 in sync / no changes,
2 changes or drift (plan --detailed-exitcode, drift), 1 an error. click's own usage errors exit 2 by
default; here they exit 1, so that a pipeline never reads a typo as "changes"."""

from __future__ import annotations

import sys

import click

from .settings import Settings, settings_options
from provisioning.collection import module_utils

EXIT_ERROR = 1


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@settings_options
@click.pass_context
def cli(ctx, **values):
    """Reconcile declared SIP state (YAML in git) with the platform, and report drift."""
    ctx.obj = Settings(**values)


def _register_commands():
    from .commands import apply, drift, gather, history, import_csv, plan, report, search

    for module in (plan, apply, drift, gather, import_csv, report, search, history):
        cli.add_command(module.command)


def main(argv=None):
    """The console script: every failure becomes one readable line on stderr and exit code 1."""
    _register_commands()
    try:
        code = cli.main(args=argv, prog_name="switchboard", standalone_mode=False)
    except click.ClickException as exc:
        code = _failed("switchboard: error: %s" % exc.format_message())
    except click.Abort:
        code = _failed("switchboard: aborted")
    except Exception as exc:
        # The collection is imported only now: reading an --inventory first sets up Ansible's collection loader,
        # which must be the one to import it (the fleet inventory plugin is part of it).
        errors = module_utils("errors")
        if isinstance(exc, errors.InvalidState):
            code = _failed(str(exc))
        elif isinstance(exc, errors.SwitchboardError):
            code = _failed("switchboard: error: %s" % exc)
        else:
            raise
    sys.exit(code or 0)


def _failed(line):
    click.echo(line, err=True)
    return EXIT_ERROR
