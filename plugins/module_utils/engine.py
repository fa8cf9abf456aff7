# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one flow: load -> validate -> read actual -> plan -> apply -> report. Every door calls this."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import time

from . import declared as declared_state
from . import activation, audit, dispatch, gather, incremental_run, phase_timings, progress, report, search, unchanged_run
from .account_change import AccountChange
from .collector import paused
from .errors import InvalidState, SwitchboardError
from .pbx import change_counter, server
from .pbx.database import LOCK_TIMEOUT, CreatedMeanwhile, Session, database_exists
from .pbx.store import Writer, read_actual
from .plan import MERGED, OVERRIDDEN, make_plan
from .plan_file_writer import PlanFileWriting

DIFF_LIMIT = 200  # per-object diffs in the task output; the plan file has all of them


@dataclasses.dataclass
class Options:
    state_dir: str
    dsn: str
    sip_domain: str
    mode: str = MERGED
    passwords: dict = dataclasses.field(default_factory=dict)  # number -> clear password (vault, secrets file)
    check_mode: bool = False
    report_dir: str = None
    cache_dir: str = None
    rpc_url: str = None  # Kamailio's JSON-RPC: registrations of tightened accounts are dropped
    lock_timeout: float = LOCK_TIMEOUT  # seconds to wait for the PBX database's write lock
    keep_plan_files: int = report.KEEP_PLAN_FILES  # the newest plan files kept in report_dir
    decrypted_files: dict = dataclasses.field(default_factory=dict)  # whole-file-vault state files, decrypted
    secrets_file: str = None  # where passwords not in the state came from, for messages
    sms_gateway: str = None  # switchboard_sms_gateway: file:///DIR or kannel://USER@HOST:PORT?smsc=ID
    sms_password: str = None  # the Kannel sendsms password (vault)
    sms_rate: float = None  # switchboard_sms_rate: messages per second
    door: str = "engine"  # the audit trail's door: switchboard.pbx.platform, switchboard.pbx.sip_account, switchboard apply
    controller_user: str = None  # user@host of the Ansible controller (its action plugin), for the audit trail
    progress: object = None  # None or a callable (phase, done, total): see progress.py
    checkpoint: object = None  # None or a callable (declared, actual, changes, descriptions) called under the write
    # lock before anything is written: `plan --out` records the plan, `apply --plan` raises when it no longer holds


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def apply_changes(writer, changes):
    """Write the plan in an order where every reference holds at every step."""
    by = {}
    for change in changes:
        by.setdefault((change.kind, change.action), []).append(change)

    def pick(kind, action, attribute="after"):
        return [getattr(c, attribute) for c in by.get((kind, action), [])]

    writer.delete_kamailio_rows([row for change in changes for row in change.rows])
    for kind in ("provisioning_profiles", "networks", "groups", "numbers"):
        writer.upsert_objects(kind, pick(kind, "create"), pick(kind, "update"))
    writer.write_trusted_peers(pick("trusted_peers", "create"), pick("trusted_peers", "update"),
                               pick("trusted_peers", "delete", "before"))
    leaving_devices = pick("devices", "delete", "key")
    writer.unbind_channels(pick("devices", "update", "key") + leaving_devices)
    writer.delete_objects("devices", leaving_devices)
    leaving_accounts = pick("accounts", "delete", "replaces") + pick("accounts", "replace", "replaces")
    writer.disable_accounts([username for _number, username in leaving_accounts])
    unbound = writer.delete_accounts(leaving_accounts)
    accounts = {action: [(c.after, c.pbx) for c in by.get(("accounts", action), [])]
                for action in ("create", "replace", "update")}
    writer.write_accounts(accounts["create"] + accounts["replace"], accounts["update"])
    # A replaced account keeps the device channels it held (an undeclared device's too).
    writer.rebind([(device, index, c.key) for c in by.get(("accounts", "replace"), [])
                   for device, index in unbound.get(c.replaces[0], [])])
    devices = pick("devices", "create") + pick("devices", "update")
    writer.upsert_objects("devices", pick("devices", "create"), pick("devices", "update"))
    writer.bind_channels(devices)
    for kind in ("numbers", "groups", "networks", "provisioning_profiles"):
        writer.delete_objects(kind, pick(kind, "delete", "key"))
    writer.journal(changes)


def _apply_changes_shown(options, writer, changes):
    progress.tick(options.progress, progress.WRITING, 0, len(changes))
    apply_changes(writer, changes)
    progress.tick(options.progress, progress.WRITING, len(changes), len(changes))


def reconcile(options, load_declared, select=None, read=None, run_fingerprint=None):
    """Plan and apply the declared state against the PBX; ``select`` keeps only some changes (one-object doors),
    ``read(db, domain)`` returns the Actual (what a one-object door touches; by default all of it).

    ``load_declared()`` returns (Declared, declared.RulesVerdict); it is called once the actual state is read,
    so that a load running in parallel overlaps the database read, and the verdict is asked for once the plan is
    made, so that rules checked in parallel overlap the planning. ``run_fingerprint`` (complete runs only:
    unchanged_run) is recorded with the platform's change counter when the run commits."""
    read = read or read_actual
    dispatch.check_settings(options)
    try:
        return _reconcile(options, load_declared, select, read, run_fingerprint)
    except CreatedMeanwhile:  # a concurrent first run made the SQLite file: plan again against it
        return _reconcile(options, load_declared, select, read, run_fingerprint)


def _plan(declared, actual, options, select):
    """Return (changes, warnings about what the plan leaves alone)."""
    progress.tick(options.progress, progress.PLANNING, 0, 1)
    changes, problems, unmanaged = make_plan(declared, actual, options.sip_domain, options.mode, options.passwords)
    progress.tick(options.progress, progress.PLANNING, 1, 1)
    if problems:
        raise InvalidState(problems)
    return ([c for c in changes if select(c)] if select is not None else changes), unmanaged


def _reconcile(options, load_declared, select, read, run_fingerprint):
    """Read a snapshot and plan without the write lock; then, under the lock, make sure nothing changed
    meanwhile (or plan again), write the plan file (what can fail goes before the commit), apply, commit."""
    with Session(options.dsn, options.sip_domain, options.check_mode, options.lock_timeout) as pbx:
        with pbx.reading() as db, phase_timings.phase("read"):
            snapshot = read(db, options.sip_domain)
        declared, verdict = load_declared()  # its wait for the file checkers is timed as "waiting for the load"
        with verdict:
            with phase_timings.phase("plan"):
                changes, unmanaged = verdict.invalid_first(_plan, declared, snapshot, options, select)
            warnings = verdict.warnings()  # before anything is written
        with pbx.writing() as db:
            recording = run_fingerprint is not None and not options.check_mode
            if recording:  # before the re-read check: whoever commits after it is seen by the next run
                change_counter.ensure(db)
                change_counter.hold(db)
            actual = snapshot
            if not pbx.unchanged_since_read(db):
                actual = read(db, options.sip_domain)
                if actual != snapshot:  # someone wrote meanwhile
                    changes, unmanaged = _plan(declared, actual, options, select)
            with phase_timings.phase("report"):
                described = None  # every change's description: only a saved plan's checkpoint needs them here
                if options.checkpoint is not None:
                    described = [report.describe(c) for c in changes]
                    options.checkpoint(declared, actual, changes, described)
                counts = report.summary(changes)
                queued = activation.created_wizard_accounts(changes)
                at = now()  # the plan file's, the journal's and the audit trail's: one moment
                shown = (described or [report.describe(c) for c in changes[:DIFF_LIMIT]])[:DIFF_LIMIT]
                plan_file = report.plan_file_path(options.report_dir)
                writing_plan_file = PlanFileWriting(plan_file, changes, counts, _plan_file_meta(
                    options, db, at, sms_queued=activation.would_send("installation", queued)), options.keep_plan_files,
                    described)
            with writing_plan_file:  # a big plan's file is written meanwhile, by a forked child
                with phase_timings.phase("write"):
                    _apply_changes_shown(options, Writer(db, options.sip_domain, at), changes)
                    activation.queue_installations(db, at, changes)  # the SMS is only queued here, in the same transaction
                with phase_timings.phase("waiting for the plan file"):
                    writing_plan_file.finish()  # before the commit: what can fail goes first
            with phase_timings.phase("write"):
                audit.record(db, options, at, plan_file, counts)  # in the transaction: a rolled-back apply leaves no record
                if recording:
                    unchanged_run.record(db, run_fingerprint, at, warnings, unmanaged)
    # Committed: from here on nothing may turn the result into a failure (the change is applied).
    return _result(options, changes, shown, counts, plan_file, list(warnings) + unmanaged, queued)


def _result(options, changes, descriptions, counts, plan_file, warnings, queued, unchanged_since=None):
    """What a run tells, once committed: the server told, the SMS sent, the counts and the diffs (``descriptions``:
    report.describe of the first DIFF_LIMIT changes at least)."""
    extra = {}
    if options.rpc_url:
        extra["server"], told = server.unregister(options.rpc_url, options.sip_domain,
                                                  server.usernames_to_unregister(changes), options.check_mode)
        warnings.extend(told)
    reloaded, told = server.reload_trusted_peers(options.rpc_url, changes, options.check_mode)
    warnings.extend(told)
    if reloaded is not None and options.rpc_url:
        extra["server"]["trusted_peers_reloaded"] = reloaded
    extra["sms"], sms_lines, told = send_sms(options, queued)
    warnings.extend(told)
    result = {
        "changed": bool(changes) or bool(extra["sms"].get("sent")),
        "message": report.summary_sentence(counts, options.check_mode),
        "summary_text": with_sms_lines(report.summary_text(changes, counts, options.check_mode, plan_file), sms_lines),
        "summary": counts,
        "changes": ["%s %s%s" % (d["action"], d["address"], (" (%s)" % ", ".join(d["fields"])) if d["fields"] else "")
                    for d in descriptions[:DIFF_LIMIT]],
        "change_count": len(changes),
        "plan_file": plan_file,
        "warnings": warnings,
        "diff": report.ansible_diff(descriptions, DIFF_LIMIT),
        **extra,
    }
    if unchanged_since:
        result["unchanged_since"] = unchanged_since
        result["summary_text"].insert(1, "nothing read: the state files, secrets and every platform table the plan "
                                         "reads are as the complete run of %s UTC left them" % unchanged_since)
    return result


def with_sms_lines(summary_text, sms_lines):
    """The SMS lines go before the last line, which names the plan file."""
    return summary_text[:-1] + sms_lines + summary_text[-1:]


def send_sms(options, queued=()):
    """After the commit: the outbox's SMS sent (dispatch), or what would be sent in check mode. A database
    that cannot be reached now leaves them queued: the apply stays a success, the next run sends them."""
    try:
        return dispatch.run(options, now, queued)
    except Exception as exc:  # the apply is committed: whatever failed here, the task reports it and succeeds
        return {}, [], ["SMS not sent in this run (%s: %s): they stay queued and the next run sends them (a message "
                        "being sent is marked unknown then)" % (type(exc).__name__, exc)]


def advance(options):
    """playbooks/activation.yml: no state, no plan; lifecycles advanced and the queued SMS sent."""
    dispatch.check_settings(options)
    section, lines, warnings = send_sms(options)
    sent = section.get("sent") or section.get("would_send") or []
    return {"changed": bool(sent), "sms": section, "warnings": warnings, "summary_text": lines or ["no SMS to send"],
            "message": "%s%d SMS" % ("would send " if options.check_mode else "sent ", len(sent))}


def load_arguments(options):
    return options.state_dir, options.cache_dir, options.passwords, options.decrypted_files, options.secrets_file


@paused()  # the declared model, the platform and the plan all live until the run ends (collector.py)
def run(options):
    """One complete run; its result's ``timings`` are the seconds per phase (make bench); the file checks overlap
    the read ("(in parallel)"): "waiting for the load" is what they add."""
    phase_timings.taken()  # an earlier run in this process is not this one
    started = time.monotonic()
    result = _run(options)
    result.setdefault("run", "unchanged" if "unchanged_since" in result else "complete")
    result["timings"] = dict(phase_timings.taken(), total=round(time.monotonic() - started, 3))
    return result


def _run(options):
    if not database_exists(options.dsn):  # nothing to read: loaded first (invalid input must not even create the
        # file: the rules' verdict comes before the write, the file checks before the empty platform is read)
        loaded = declared_state.load_checked_meanwhile(*load_arguments(options), progress=options.progress)
        return reconcile(options, lambda: loaded, run_fingerprint=unchanged_run.fingerprint(options))
    with phase_timings.phase("unchanged-run check"):
        run_fingerprint = unchanged_run.fingerprint(options)
        # A saved plan (its checkpoint) needs the declared state and the platform objects: never skipped.
        skipped = _skipped_when_unchanged(options, run_fingerprint) if options.checkpoint is None else None
    if skipped is not None:
        return skipped
    incremental = incremental_run.run(options, run_fingerprint, reconcile) if options.checkpoint is None else None
    if incremental is not None:
        return incremental
    # The state files load on the second core while this process reads the database (ARCHITECTURE:
    # both cost seconds at 100k accounts). An invalid state still writes nothing: the transaction rolls back.
    known = gather.referable(options.dsn) if options.mode == MERGED else None
    with loading_meanwhile(options, known) as load_declared:
        return reconcile(options, load_declared, run_fingerprint=run_fingerprint)


@contextlib.contextmanager
def loading_meanwhile(options, known=None):
    """Yields load_declared(): the state files are parsed and checked by worker processes while this one reads the
    database; load_declared() validates them across files here (declared.Loading)."""
    with declared_state.Loading(*load_arguments(options), known=known, meanwhile=True) as loading:
        yield _loading_shown(options, functools.partial(loading.finish, rules_meanwhile=True))


def _loading_shown(options, load):
    """The forked checkers' output goes to /dev/null (child_process): the load's progress is told from here."""
    def loaded():
        result = load()
        progress.tick(options.progress, progress.LOADING, 1, 1)
        return result
    progress.tick(options.progress, progress.LOADING, 0, 1)
    return loaded


def read_and_plan(options, view=None):
    """Drift's half of the flow: a snapshot read without the write lock (a drift run never waits for a writer and
    never writes), the declared state loaded meanwhile, and the plan against the snapshot in ``options.mode``.
    Damaged project rows do not stop it: they are skipped and listed in ``actual.unreadable``. ``view(declared)``:
    the declared state as the caller plans it. Returns (declared, actual, changes, warnings); an invalid declared
    state raises InvalidState."""
    with loading_meanwhile(options) as load_declared:
        with Session(options.dsn, options.sip_domain, True, options.lock_timeout) as pbx:
            with pbx.reading() as db:
                actual = read_actual(db, options.sip_domain, tolerant=True)
        declared, verdict = load_declared()
        with verdict:
            planned = declared if view is None else view(declared)
            changes, unmanaged = verdict.invalid_first(_plan, planned, actual, options, None)
            warnings = verdict.warnings()
    return planned, actual, changes, warnings + unmanaged


def _plan_file_meta(options, db, at, **meta):
    """What a plan file tells beside the changes, with the SMS that wait for an action."""
    return dict(meta, mode=options.mode, check_mode=options.check_mode, at=at, sms_to_resend=activation.needing_action(db))


def _skipped_when_unchanged(options, run_fingerprint):
    """The result of a run with the inputs of the last complete one (unchanged_run), without loading the state
    or reading the platform; None when anything may differ. It is recorded in the audit trail, and the queued
    SMS are sent, as in any run."""
    with Session(options.dsn, options.sip_domain, options.check_mode, options.lock_timeout) as pbx:
        with pbx.reading() as db:
            recorded = None if pbx.read_needed_schema_work else unchanged_run.last_complete_run(db, run_fingerprint)
            if recorded is None:
                return None
            plan_file = report.plan_file_path(options.report_dir)
            report.write_plan_file(plan_file, [], {}, _plan_file_meta(options, db, now(), sms_queued=[],
                                                                      unchanged_since=recorded["at"]),
                                   options.keep_plan_files)
        if not options.check_mode:  # an auditor sees every apply, this one too (a write of its own, after the read)
            with pbx.writing() as db:
                audit.record(db, options, now(), plan_file, {})
    return _result(options, [], [], {}, plan_file, list(recorded["warnings"]), (), unchanged_since=recorded["at"])


def reconcile_account(options, number, fields, state):
    """One account, ad hoc: only what its change touches is read, validated and planned (account_change)."""
    change = AccountChange(number, fields, state)
    if state == "absent":  # the account is left out of the small declared state: overridden deletes it
        options = dataclasses.replace(options, mode=OVERRIDDEN)
    return reconcile(options, change.declared, select=change.selects, read=change.read)


def gathered(dsn, sip_domain, kinds, query=None, rpc_url=None, applies_limit=None):
    """The actual state in the declared format, optionally only the accounts a search matches;
    with ``rpc_url``, which accounts are registered (connected) right now; the newest recorded applies."""
    actual, domains = gather.read(dsn, sip_domain)
    account_filter = None
    if query:
        try:
            account_filter = search.compile_query(query)
        except ValueError as exc:
            raise SwitchboardError("query %r: %s" % (query, exc))
    state = gather.as_state(actual, kinds, account_filter)
    numbers = [a["number"] for a in state.get("accounts", [])]
    status = gather.account_status(actual, numbers)
    sections, warnings = gather.findings(actual)
    warnings += gather.missing_subscribers(status, sip_domain, domains)
    timelines, told = activation.lifecycle(dsn, sip_domain, numbers)
    warnings += told
    for number, entry in status.items():
        entry["history"] = timelines.get(number, [])
    result = dict(sections, changed=False, state=state, account_status=status, sip_domain=sip_domain,
                  database=gather.database(dsn), warnings=warnings,
                  applies=audit.applies(dsn, sip_domain, applies_limit))
    if rpc_url:
        try:
            registered = server.registrations(rpc_url)
        except (server.RpcUnavailable, server.RpcError) as exc:
            result["warnings"].append("connected clients unknown: %s" % exc)
        else:
            for number, entry in status.items():
                entry["registrations"] = registered.get(actual.objects["accounts"][number]["username"], [])
                entry["connected"] = bool(entry["registrations"])
    return result
