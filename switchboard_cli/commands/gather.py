# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""switchboard gather DIR: adopt an existing platform, its actual state written as state files that plan to
zero changes (commit them, then manage the platform from git)."""

from __future__ import annotations

import click

from provisioning.collection import module_utils

from ..settings import with_settings


@click.command("gather")
@click.argument("directory", type=click.Path(file_okay=False))
@with_settings
def command(settings, directory):
    """Write the platform's actual state into DIRECTORY (new or empty); passwords are never written."""
    settings.require("dsn", "sip_domain")
    result = module_utils("adopt").gather_into(directory, settings.dsn, settings.sip_domain)
    for line in summary(result):
        click.echo(line)
    for warning in result["warnings"]:
        click.echo("warning: %s" % warning, err=True)
    return 0


def summary(result):
    """The sentence the engine's runs use (`5 accounts, 2 groups and 1 network list`), then one line per file."""
    report = module_utils("report")
    nouns = dict(report.NOUNS)
    counts = [report.counted(result["counts"][kind], noun) for kind, noun in report.NOUNS if result["counts"].get(kind)]
    lines = ["gathered %s from SIP domain %s into %s" % (
        report.joined(counts) if counts else "nothing (the platform holds no objects)", result["sip_domain"],
        result["directory"])]
    lines += ["  %s: %s" % (entry["path"], report.counted(entry["count"], nouns[entry["kind"]])) for entry in result["files"]]
    unmanaged = result["unmanaged_rows"]
    if unmanaged:
        lines.append("not adopted: %s no account owns (switchboard.pbx.platform_info lists them under unmanaged); "
                     "a plan in overridden mode deletes them" % report.counted(unmanaged, "Kamailio row"))
    lines.append("passwords are not written: the accounts keep their credentials on the platform")
    return lines
