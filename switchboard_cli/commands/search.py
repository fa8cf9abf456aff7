# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""switchboard search QUERY: the platform's accounts a query matches (SPEC §6, Lucene's syntax), in the declared
format: what a state file would say about them."""

from __future__ import annotations

import json

import click

from provisioning.collection import module_utils

from ..settings import with_settings


@click.command("search")
@click.argument("query")
@click.option("--format", "output_format", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@with_settings
def command(settings, query, output_format):
    """Print the accounts on the platform that QUERY matches (e.g. 'owner:"marco rossi"', 'email:marco*')."""
    settings.require("dsn", "sip_domain")
    found = module_utils("engine").gathered(settings.dsn, settings.sip_domain, ("accounts",), query=query)
    accounts = {"accounts": [dict({"number": account["number"]}, **account) for account in found["state"]["accounts"]]}
    if output_format == "json":
        click.echo(json.dumps(accounts, indent=1, sort_keys=True, ensure_ascii=False))
    else:
        import yaml

        click.echo(yaml.safe_dump(accounts, sort_keys=False, allow_unicode=True), nl=False)
    click.echo("%d account%s match %s" % (len(accounts["accounts"]), "" if len(accounts["accounts"]) == 1 else "s",
                                          query), err=True)
    return 0
