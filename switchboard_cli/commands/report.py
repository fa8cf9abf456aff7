# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""switchboard report: render a saved report (plan.json, drift.json) again, in any of the four formats.

The exit code is the saved report's own (0 in sync, 2 drift or changes, 1 something unreadable), so a pipeline
can gate on a report an earlier job made. A report of an unknown format_version, or whose summary disagrees with its
objects (an edited file), is refused: rendering it would show counts the objects do not carry."""

from __future__ import annotations

import json

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
    built = load(saved)
    if output:
        for path in render.write(built, list(dict.fromkeys(formats)), output, built["report"]):
            click.echo("wrote %s" % path, err=True)
    elif len(set(formats)) == 1:
        click.echo(render.rendered(built, formats[0]), nl=False)
    else:
        raise click.UsageError("several formats need --output DIR (standard output takes one)")
    return built["summary"]["exit_code"]


def load(path):
    """The saved model, checked: readable JSON, a format_version this code renders, a summary its objects give."""
    errors, model = module_utils("errors"), module_utils("reports.model")

    def refused(where, message, rule):
        return errors.SwitchboardError("%s: %s: %s (rule: %s)" % (path, where, message, rule))

    try:
        with open(path, encoding="utf-8") as handle:
            built = json.load(handle)
    except OSError as exc:
        raise errors.SwitchboardError("cannot read the report %r: %s" % (path, exc.strerror))
    except ValueError as exc:
        raise refused("(document)", "not JSON: %s" % exc, "a report is the JSON a plan or drift run wrote")
    if not isinstance(built, dict):
        raise refused("(document)", "not a report object", "a report is the JSON a plan or drift run wrote")
    if built.get("format_version") != model.FORMAT_VERSION:
        raise refused("format_version", "%s is not a version this switchboard renders" % json.dumps(
            built.get("format_version")), "format_version must be %d (schemas/report.schema.json)" % model.FORMAT_VERSION)
    if built.get("report") not in ("plan", "drift"):  # it names the files written: nothing else may come through
        raise refused("report", "%s is neither plan nor drift" % json.dumps(built.get("report")),
                      "schemas/report.schema.json")
    for key, kind, noun in (("context", dict, "an object"), ("summary", dict, "an object"), ("objects", list, "a list")):
        if not isinstance(built.get(key), kind):
            raise refused(key, "missing or not %s" % noun, "schemas/report.schema.json")
    try:
        summary = model.summarize(built["objects"])
    except (KeyError, TypeError, AttributeError) as exc:
        raise refused("objects", "an object lacks a field or has a wrong one (%s)" % exc, "schemas/report.schema.json")
    if summary != built["summary"]:
        raise refused("summary", "the counts differ from the objects' (%s)" % _differences(built["summary"], summary),
                      "a report's summary is computed from its objects: the file was edited")
    return built


def _differences(saved, computed):
    return ", ".join("%s %s, objects give %s" % (key, json.dumps(saved.get(key)), json.dumps(value))
                     for key, value in computed.items() if saved.get(key) != value)
