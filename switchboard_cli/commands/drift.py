# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""switchboard drift: the declared state against the platform (and with --fleet, the devices), as reports.

Writes OUTPUT/drift.json (and drift.md, drift.html, drift.junit.xml as asked: --format repeats), prints one
summary line, exits 0 in sync, 2 drift, 1 error or anything unreadable. Nothing is written to the platform and
no lock is taken. The reports go to --output, by default the current directory (a CI job's workspace, where
its artifacts are picked up); --report-dir stays where plan files are kept."""

from __future__ import annotations

import click

from provisioning.collection import module_utils

from ..settings import with_settings

FORMATS = ("json", "md", "html", "junit")
# The fleet's settings, named like the inventory variables (switchboard_fleet_ssh_user, ...).
FLEET_SETTINGS = (("ssh_user", "SWITCHBOARD_FLEET_SSH_USER", "the user the devices are read as over SSH"),
                  ("ssh_key_file", "SWITCHBOARD_FLEET_SSH_KEY_FILE", "that user's private key"),
                  ("known_hosts", "SWITCHBOARD_FLEET_KNOWN_HOSTS", "a known_hosts file naming every device's host key"),
                  ("proxy", "SWITCHBOARD_FLEET_PROXY", "the SIP proxy device lines register through [default: the "
                                                       "SIP domain]"))


def _fleet_options(function):
    for name, variable, text in reversed(FLEET_SETTINGS):
        function = click.option("--" + name.replace("_", "-"), name, envvar=variable,
                                help="with --fleet: %s (env %s)" % (text, variable))(function)
    return function


@click.command("drift")
@click.option("--fleet", is_flag=True, help="read every declared device over SSH too (nothing is written)")
@click.option("--format", "formats", multiple=True, type=click.Choice(FORMATS),
              help="a report format; repeat for several [default: json]")
@click.option("--output", type=click.Path(file_okay=False), default=".", show_default=True,
              help="the directory the reports are written to (drift.json, drift.md, drift.html, drift.junit.xml)")
@_fleet_options
@with_settings
def command(settings, fleet, formats, output, **fleet_settings):
    """Report drift between the declared state and the platform: exit 0 in sync, 2 drift, 1 error."""
    drift = module_utils("drift")
    render = module_utils("reports.render")
    options = settings.engine_options(check_mode=True)
    fleet_options = _fleet(settings, fleet_settings, options.passwords) if fleet else None
    built, warnings = drift.run(options, fleet_options)
    paths = render.write(built, list(dict.fromkeys(formats or ("json",))), output, "drift")
    for warning in warnings:
        click.echo("warning: %s" % warning, err=True)
    click.echo(drift.sentence(built, drift.readable_report(paths)))
    return built["summary"]["exit_code"]


def _fleet(settings, fleet_settings, passwords):
    """The fleet's options; ``passwords``: the controller's (secrets file, vault), which the device lines compare."""
    missing = [name for name, _variable, _text in FLEET_SETTINGS[:3] if not fleet_settings[name]]
    if missing:
        raise click.UsageError("; ".join("--fleet needs --%s (or %s)" % (name.replace("_", "-"), variable)
                                         for name, variable, _text in FLEET_SETTINGS if name in missing))
    settings.require("state_dir", "dsn", "sip_domain")
    reconcile = module_utils("fleet.reconcile")
    return reconcile.FleetOptions(state_dir=settings.state_dir, dsn=settings.dsn, sip_domain=settings.sip_domain,
                                  ssh_user=fleet_settings["ssh_user"], key_file=fleet_settings["ssh_key_file"],
                                  known_hosts=fleet_settings["known_hosts"], proxy=fleet_settings["proxy"],
                                  passwords=passwords, check_mode=True)
