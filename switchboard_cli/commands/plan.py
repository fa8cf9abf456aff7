# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""switchboard plan: what an apply would change (check mode: a real transaction, rolled back)."""

from __future__ import annotations

import click

from provisioning.collection import module_utils

from ..progress import progress_bars
from ..saved_plans import Recorder, write_plan
from ..settings import with_settings


@click.command("plan")
@click.option("--out", type=click.Path(dir_okay=False), help="save the plan (the report model as JSON, with what "
              "`apply --plan` checks): review it, then apply exactly it")
@click.option("--detailed-exitcode", is_flag=True, help="exit 2 when there are changes, 0 when none, 1 on error")
@with_settings
def command(settings, out, detailed_exitcode):
    """Plan the declared state against the platform; nothing is written."""
    engine = module_utils("engine")
    recorder = Recorder(settings) if out else None
    result = engine.run(settings.engine_options(check_mode=True, progress=progress_bars(), checkpoint=recorder))
    if out:
        write_plan(out, recorder.plan)
    print_result(result)
    if out:
        click.echo("plan saved to %s: apply exactly it with `switchboard apply --plan %s`" % (out, out))
    return 2 if detailed_exitcode and result["change_count"] else 0


def print_result(result):
    for line in result["summary_text"]:
        click.echo(line)
    for warning in result["warnings"]:
        click.echo("warning: %s" % warning, err=True)
