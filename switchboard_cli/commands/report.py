# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""switchboard report: render a saved report (plan.json, drift.json) again, in any of the four formats.

The exit code is the saved report's own (0 in sync, 2 drift or changes, 1 something unreadable), so a pipeline
can gate on a report an earlier job made. A report of an unknown format_version, one the published schema refuses,
or one whose summary disagrees with its objects (an edited file) is refused (reports/saved.py)."""

from __future__ import annotations

import click

from provisioning.collection import module_utils

FORMATS = ("json", "md", "html", "junit")


@click.command("report")
@click.argument("saved", metavar="REPORT.json", type=click.Path(dir_okay=False))
@click.option("--format", "formats", multiple=True, type=click.Choice(FORMATS), default=("md",), show_default=True,
              help="a rendering; repeat for several (they need --output)")
@click.option("--output", type=click.Path(file_okay=False),
              help="write DIR/NAME.json|.md|.html|.junit.xml (NAME: plan or drift); without it, print the one format")
def command(saved, formats, output):
    """Render a saved plan or drift report (JSON) as JSON, Markdown, HTML or JUnit XML."""
    render = module_utils("reports.render")
    built = module_utils("reports.saved").load(saved)
    if output:
        for path in render.write(built, list(dict.fromkeys(formats)), output, built["report"]):
            click.echo("wrote %s" % path, err=True)
    elif len(set(formats)) == 1:
        click.echo(render.rendered(built, formats[0]), nl=False)
    else:
        raise click.UsageError("several formats need --output DIR (standard output takes one)")
    return built["summary"]["exit_code"]
