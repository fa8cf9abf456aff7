# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""switchboard history --account NUMBER: what happened to an account, in order (created, SMS sent, installed,
activated...), as the platform recorded it."""

from __future__ import annotations

import json

import click

from provisioning.collection import module_utils

from ..settings import with_settings


@click.command("history")
@click.option("--account", "number", required=True, help="the account's primary number, e.g. +393471234567")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@with_settings
def command(settings, number, output_format):
    """The activation history of one account on the platform."""
    settings.require("dsn", "sip_domain")
    found = module_utils("engine").gathered(settings.dsn, settings.sip_domain, ("accounts",), query=number)
    status = found["account_status"].get(number)
    if status is None:
        raise module_utils("errors").SwitchboardError("the platform has no account %s" % number)
    if output_format == "json":
        click.echo(json.dumps({"account": number, **status}, indent=1, sort_keys=True))
        return 0
    click.echo("account %s: %s since %s" % (number, status["last_status"], status["last_status_date"]))
    for event in status["history"]:
        click.echo("%s  %s%s" % (event["at"], event["event"], "  (%s)" % event["detail"] if event["detail"] else ""))
    return 0
