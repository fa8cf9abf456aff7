# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""switchboard import-csv: seed 003's batch creation, as one new state file to review and commit."""

from __future__ import annotations

import click

from provisioning.collection import module_utils

from ..settings import with_settings

EXIT_BAD_ROWS = 1


@click.command("import-csv")
@click.argument("csv_file", metavar="FILE", type=click.Path(dir_okay=False))
@click.option("--group", required=True, help="the group every new account joins (declared in the state)")
@click.option("--profile", required=True, help="the provisioning profile of every new account")
@click.option("--activation", type=click.Choice(["wizard", "plain"]), default="wizard", show_default=True,
              help="wizard: disabled until activated by SMS (E.164 mobile numbers); plain: enabled at once, "
                   "passwords from the secrets file")
@click.option("--dry-run", is_flag=True, help="show what would be added; write nothing")
@click.option("--out", type=click.Path(dir_okay=False),
              help="the state file to write [default: STATE_DIR/import-<UTC time>-<group>.yml]")
@with_settings
def command(settings, csv_file, group, profile, activation, dry_run, out):
    """Check every row of FILE (header fullName,gsmNumber,email,securityModel,description) against the whole
    declared state, then write the new accounts as ONE new state file; plan and apply take it from there.
    Any bad row: every problem is printed with its line and column, and nothing is written (exit 1)."""
    settings.require("state_dir")
    csv_import = module_utils("csv_import")
    try:
        imported = csv_import.run(csv_file, settings.state_dir, group, profile, activation, out=out, dry_run=dry_run,
                                  known=_platform_referable(settings))
    except csv_import.BadRows as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        count = len(exc.problems)
        click.echo("%d problem%s in %s: nothing was written" % (count, "" if count == 1 else "s", csv_file), err=True)
        return EXIT_BAD_ROWS
    for note in imported.notes:
        click.echo("note: %s" % note, err=True)
    _tell(imported, group, profile, activation)
    return 0


def _platform_referable(settings):
    """In merged mode a partial state may name the platform's groups and profiles, as the plan allows; only
    when a database is named and already there (an import never creates one)."""
    if not settings.dsn or (settings.mode or "merged") != "merged":
        return None
    database = module_utils("pbx.database")
    if not database.database_exists(settings.dsn):
        return None
    return module_utils("gather").referable(settings.dsn)


def _tell(imported, group, profile, activation):
    count = len(imported.accounts)
    what = "%d account%s to group %s (profile %s, %s activation)" % (
        count, "" if count == 1 else "s", group, profile, activation)
    if imported.written:
        click.echo("added %s: wrote %s" % (what, imported.path))
    else:
        click.echo("would add %s as %s (dry run: nothing written):" % (what, imported.path))
        for account in imported.accounts:
            click.echo("  + %s  %s" % (account["number"], account.get("owner", "")))
    if activation == "wizard":
        click.echo("the apply will queue %d installation SMS, one per account" % count)
    if imported.written:
        click.echo("next: review and commit it, then `switchboard plan`")
