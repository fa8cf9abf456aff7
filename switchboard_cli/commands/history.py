# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""switchboard history: the audit trail, one line per apply (newest first): when, who, door, state commit, counts."""

from __future__ import annotations

import json

import click

from provisioning.collection import module_utils

from ..settings import with_settings


@click.command("history")
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True,
              help="the newest N applies; 0 lists them all")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one line per apply; json: every recorded field")
@with_settings
def command(settings, limit, output_format):
    """List the recorded applies (who ran them, when, from which git commit of the state, what they changed)."""
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
