# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""switchboard plan: what an apply would change (check mode: a real transaction, rolled back)."""

from __future__ import annotations

import click

from provisioning.collection import module_utils

from ..settings import with_settings


@click.command("plan")
@click.option("--detailed-exitcode", is_flag=True, help="exit 2 when there are changes, 0 when none, 1 on error")
@with_settings
def command(settings, detailed_exitcode):
    """Plan the declared state against the platform; nothing is written."""
    engine = module_utils("engine")
    result = engine.run(settings.engine_options(check_mode=True))
    for line in result["summary_text"]:
        click.echo(line)
    for warning in result["warnings"]:
        click.echo("warning: %s" % warning, err=True)
    return 2 if detailed_exitcode and result["change_count"] else 0
