# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""switchboard apply: plan and apply, as playbooks/site.yml does; with --plan, exactly a saved plan or nothing."""

from __future__ import annotations

import click

from provisioning.collection import module_utils

from ..progress import progress_bars
from ..saved_plans import Verifier
from ..settings import with_settings
from .plan import print_result


@click.command("apply")
@click.option("--plan", "plan_file", type=click.Path(exists=True, dir_okay=False),
              help="a plan saved by `plan --out`: applied only if planning again now gives exactly it, else "
                   "refused (exit 1) naming what moved")
@with_settings
def command(settings, plan_file):
    """Apply the declared state to the platform (one transaction)."""
    engine = module_utils("engine")
    verifier = Verifier(settings, plan_file) if plan_file else None
    result = engine.run(settings.engine_options(check_mode=False, progress=progress_bars(), checkpoint=verifier))
    print_result(result)
    return 0
