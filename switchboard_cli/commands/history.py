# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""switchboard history: the audit trail, one line per apply (newest first): when, who, door, state commit, counts;
with --account NUMBER, what happened to that account instead (created, SMS sent, installed, activated...)."""

from __future__ import annotations

import json

import click

from provisioning.collection import module_utils

from ..settings import with_settings


@click.command("history")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="the newest N applies; 0 lists them all")
@click.option("--account", "number", help="one account's activation history instead (its primary number)")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one line per apply or event; json: every recorded field")
@with_settings
def command(settings, limit, number, output_format):
    """List the recorded applies (who ran them, when, from which git commit of the state, what they changed)."""
    if number:
        return _account_history(settings, number, output_format)
    settings.require("dsn")
    audit = module_utils("audit")
    applies = audit.applies(settings.dsn, settings.sip_domain, limit)
    if output_format == "json":
        click.echo(json.dumps({"database": module_utils("gather").database(settings.dsn), "applies": applies},
                              indent=2, sort_keys=True))
        return 0
    if not applies:
        click.echo("no apply recorded yet")
    for applied in applies:
        click.echo(audit.line(applied))
    return 0


def _account_history(settings, number, output_format):
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
