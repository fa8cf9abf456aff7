# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send the outbox's pending SMS after the apply's commit, each exactly once (issue 7).

Per message: one short write transaction makes its one-time token (only its sha256 is stored) and marks
the row `sending`, and is COMMITTED before the gateway is asked; the answer is recorded in the next
message's transaction (or one of its own after the last): one commit per message, and never more than one
row `sending`. A run killed before its answer is recorded leaves `sending`, which the next run turns into
`unknown` (reported, never re-sent).
A gateway that certainly did not take the message (down, busy: Kannel's 503) puts it back to `pending`;
this run tries it again a few times with a growing pause (each attempt through the same two commits),
then leaves it and the rest pending for the next run. Check mode sends nothing and says what would be sent.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import json
import secrets
import time

from . import activation, progress
from .errors import SwitchboardError
from .pbx.database import Session
from .sms import gateway as sms
from .sms.config import open_gateway, parse_gateway, parse_rate

DEFAULT_TOKEN_DAYS = 7
ATTEMPTS = 3  # of a message the gateway certainly did not take, within this run only
BACKOFF = 0.5  # seconds before the second attempt, doubled before each next one
LISTED = 200  # message ids of one state in the result; the count beyond
LINK_PATHS = {"installation": "/i/", "activation": "/a/"}
PURPOSES = {"installation": "install", "activation": "activate"}
DEFAULT_TEMPLATES = {
    "installation": "{% if owner %}{{ owner }}, y{% else %}Y{% endif %}our secure phone line {{ number }}: "
                    "install the app from {{ link }}",
    "activation": "Your secure phone line {{ number }} is ready: open {{ link }} on this phone to activate it",
}


class TemplateProblem(Exception):
    """A profile's template that cannot make a text with the link."""


def check_settings(options):
    """A wrong gateway URL or rate fails the task before anything is written."""
    if options.sms_gateway:
        parse_gateway(options.sms_gateway)
    parse_rate(options.sms_rate)


def run(options, now, queued=()):
    """After the commit: advance lifecycles, send what is pending, report. Never raises for a gateway:
    the apply is committed. ``queued``: numbers whose installation SMS this run queued (for check mode).
    Returns (result section, text lines for the task output, warnings)."""
    with Session(options.dsn, options.sip_domain, options.check_mode, options.lock_timeout) as pbx:
        if options.check_mode:
            with pbx.reading() as db:
                return _preview(db, queued)
        with pbx.reading() as db:
            if not _has_work(db):
                return _report(db, {}, [])
            if not options.sms_gateway:  # nothing can go: leave everything as it is, say so (cheaply: 100k runs)
                return _report(db, {}, [_no_gateway(db)])
        with pbx.writing() as db:
            interrupted = activation.mark_interrupted_unknown(db, now())
            activation.cancel_orphans(db, now())
            activation.queue(db, now(), "activation", activation.installed_without_activation(db))
            pending = _pending(db)
        outcomes, warnings = _send_all(pbx.db, options, now, pending)
        with pbx.reading() as db:
            return _report(db, outcomes, warnings, interrupted)


def _has_work(db):
    return bool(db.query("SELECT 1 FROM sb_sms_outbox WHERE state IN (?, ?) LIMIT 1",
                         (activation.PENDING, activation.SENDING))) or bool(activation.installed_without_activation(db))


def _preview(db, queued):
    """Check mode: what would be sent, the first LISTED messages named, the rest counted."""
    lines = activation.would_send("installation", list(queued))
    lines += ["would send %s SMS to %s" % row for row in db.query(
        "SELECT stage, to_number FROM sb_sms_outbox WHERE state = ? ORDER BY created_at, id", (activation.PENDING,))]
    lines += activation.would_send("activation", activation.installed_without_activation(db))
    if len(lines) > LISTED:
        lines = lines[:LISTED] + ["would send %d more SMS" % (len(lines) - LISTED)]
    return {"would_send": lines}, lines, []


def _pending(db):
    """[(id, account, stage, to, account document or None, its provisioning profile or None)], oldest first."""
    rows = db.query("SELECT o.id, o.account, o.stage, o.to_number, a.data FROM sb_sms_outbox o "
                    "LEFT JOIN sb_accounts a ON a.number = o.account WHERE o.state = ? ORDER BY o.created_at, o.id",
                    (activation.PENDING,))
    if not rows:
        return []
    profiles = {name: _readable(data) for name, data in db.query("SELECT name, data FROM sb_provisioning_profiles")}
    groups = dict(db.query("SELECT name, provisioning_profile FROM sb_groups"))
    found = []
    for message_id, account, stage, to, account_data in rows:
        document = _readable(account_data)
        if document is not None:
            document["number"] = account
        profile = None
        if document is not None:  # a plain account's SMS (explicit action) uses its group's profile
            profile = profiles.get(document.get("provisioning_profile") or groups.get(document.get("group")))
        found.append((message_id, account, stage, to, document, profile))
    return found


def _readable(data):
    """A row's JSON document, or None when it is missing or damaged (platform_info names damaged rows; the
    message waits, pending, until the row is repaired)."""
    try:
        document = json.loads(data) if data else None
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _send_all(db, options, now, pending):
    """Returns ({id: (state, detail)}, warnings)."""
    if not pending:
        return {}, []
    outcomes, warnings = {}, []
    try:
        gateway = open_gateway(options.sms_gateway, options.sms_password, options.sms_rate)
    except SwitchboardError as exc:
        return {}, ["%d SMS pending: %s" % (len(pending), exc)]
    answers = _Answers()
    with gateway, answers.flushed(db, options.lock_timeout):
        for index, row in enumerate(pending):
            message_id, account, stage, to, document, profile = row
            problem = _cannot_send(document, profile)
            if problem:
                warnings.append("SMS %s to %s stays pending: %s" % (message_id, to, problem))
                continue
            try:
                outcome = _send_with_retries(db, options, now, gateway, row, answers)
            except TemplateProblem as exc:
                warnings.append("SMS %s to %s stays pending: %s" % (message_id, to, exc))
                continue
            if outcome is None:  # taken by another run meanwhile
                continue
            outcomes[message_id] = (outcome.status, stage, to)
            progress.tick(options.progress, progress.SMS_DISPATCH, index + 1, len(pending))
            if outcome.not_sent:
                left = len(pending) - index
                warnings.append("SMS gateway %s did not take SMS %s in %d attempts (%s): certainly not sent; %d SMS stay "
                                "pending and the next run sends them" % (gateway.describe(), message_id, ATTEMPTS,
                                                                         outcome.reason, left))
                break
    return outcomes, warnings


def _no_gateway(db):
    waiting = db.query("SELECT id FROM sb_sms_outbox WHERE state = ? ORDER BY id LIMIT 10", (activation.PENDING,))
    count = db.query("SELECT count(*) FROM sb_sms_outbox WHERE state = ?", (activation.PENDING,))[0][0]
    named = ", ".join(row[0] for row in waiting) + (", ..." if count > 10 else "")
    return ("%d SMS pending (%s): no SMS gateway is configured; set switchboard_sms_gateway and run again"
            % (count, named))


def _cannot_send(document, profile):
    if document is None:
        return "the account's row cannot be read (damaged: see platform_info)"
    if not profile or not profile.get("base_url"):
        return "its provisioning profile has no base_url (the link would have nowhere to go)"
    return None


class _Answers:
    """The gateway's answer to the message sent last, waiting to be written in the transaction that marks the
    next message `sending` (saves a commit, an fsync, per message), or in one of its own at the end."""

    def __init__(self):
        self._waiting = None

    def hold(self, record):
        self._waiting = record

    def write(self, db):
        """Inside a write transaction; forget() once it is committed."""
        if self._waiting is not None:
            self._waiting(db)

    def forget(self):
        self._waiting = None

    @contextlib.contextmanager
    def flushed(self, db, lock_timeout):
        try:
            yield self
        finally:
            if self._waiting is not None:
                with _short_write(db, lock_timeout):
                    self.write(db)
                self.forget()


def _send_with_retries(db, options, now, gateway, row, answers):
    """A gateway that is busy or briefly away (not sent, certainly) gets ATTEMPTS tries, further and further
    apart; never a message that may have been sent (unknown) or was refused (failed)."""
    outcome = None
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(BACKOFF * 2 ** (attempt - 1))
        outcome = _send_one(db, options, now, gateway, row, answers)
        if outcome is None or not outcome.not_sent:
            break
    return outcome


def _send_one(db, options, now, gateway, row, answers):
    message_id, account, stage, to, document, profile = row
    token = secrets.token_urlsafe(32)
    try:
        text = render(profile, stage, document, profile["base_url"] + LINK_PATHS[stage] + token)
    except Exception as exc:  # nothing was sent: the message waits until the profile is fixed
        raise TemplateProblem("the %s template of its provisioning profile cannot be rendered (%s)"
                              % (stage, type(exc).__name__)) from None
    with _short_write(db, options.lock_timeout):
        answers.write(db)  # the previous message's answer (a retry's: this very row back to pending)
        taken = db.query("SELECT state FROM sb_sms_outbox WHERE id = ?", (message_id,)) != [(activation.PENDING,)]
        if not taken:
            _mark_sending(db, now(), row, token, profile)
    answers.forget()
    if taken:  # by another run meanwhile
        return None
    outcome = gateway.send(sms.Message(id=message_id, to=to, stage=stage, text=text,
                                       dlr_url=profile["base_url"] + "/dlr"))
    answers.hold(functools.partial(_record, now=now(), message_id=message_id, account=account, stage=stage, token=token,
                                   outcome=outcome))
    return outcome


def _mark_sending(db, now, row, token, profile):
    message_id, account, stage = row[:3]
    expires = (datetime.datetime.now(datetime.timezone.utc)
               + datetime.timedelta(days=profile.get("token_lifetime_days") or DEFAULT_TOKEN_DAYS))
    db.execute("INSERT INTO sb_tokens (token_hash, account, purpose, message_id, expires_at) VALUES (?, ?, ?, ?, ?)",
               (token_hash(token), account, PURPOSES[stage], message_id, expires.strftime("%Y-%m-%d %H:%M:%S")))
    db.execute("UPDATE sb_sms_outbox SET state = ?, updated_at = ? WHERE id = ?", (activation.SENDING, now, message_id))


def _record(db, now, message_id, account, stage, token, outcome):
    # A careless gateway may echo the request (the text, so the link) in its answer: the token never gets stored.
    outcome = sms.Outcome(outcome.status, outcome.reason.replace(token, "********"))
    # Only over `sending`, or `unknown` from a run that started meanwhile: a delivery report that came back
    # before this answer was recorded (delivered, failed) already knows more and stays.
    if outcome.not_sent:  # back in the queue; its token never left this process
        db.execute("DELETE FROM sb_tokens WHERE token_hash = ?", (token_hash(token),))
        db.execute("UPDATE sb_sms_outbox SET state = ?, updated_at = ?, detail = ? WHERE id = ? AND state IN (?, ?)",
                   (activation.PENDING, now, outcome.reason, message_id, activation.SENDING, activation.UNKNOWN))
        return
    state = {sms.ACCEPTED: activation.ACCEPTED, sms.FAILED: activation.FAILED}.get(outcome.status, activation.UNKNOWN)
    db.execute("UPDATE sb_sms_outbox SET state = ?, updated_at = ?, detail = ? WHERE id = ? AND state IN (?, ?)",
               (state, now, outcome.reason, message_id, activation.SENDING, activation.UNKNOWN))
    event = "%s_sms_%s" % (stage, "sent" if state == activation.ACCEPTED else state)
    activation.add_history(db, now, [(account, event, "%s: %s" % (message_id, outcome.reason))])
    if state == activation.ACCEPTED:
        activation.set_last_status(db, now, account, "%s_sms_sent" % stage)
    elif state == activation.FAILED:  # refused: nobody holds the link
        db.execute("UPDATE sb_tokens SET used_at = ? WHERE token_hash = ?", (now, token_hash(token)))


@contextlib.contextmanager
def _short_write(db, lock_timeout):
    """A transaction of its own on the run's connection, committed when the body returns."""
    db.begin_write(lock_timeout)
    try:
        yield db
    except BaseException:
        db.rollback_quietly()
        raise
    db.commit()


def token_hash(token):
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def render(profile, stage, account, link):
    """The SMS text: the profile's Jinja2 template (sandboxed) or the default; the link is the only secret in it."""
    source = ((profile.get("templates") or {}).get(stage)) or DEFAULT_TEMPLATES[stage]
    text = _compiled(source).render(link=link, owner=account.get("owner") or "", number=account["number"])
    if link not in text:
        raise ValueError("the text has no {{ link }}")
    return text.strip()


@functools.lru_cache(maxsize=32)
def _compiled(source):
    """A batch of 10k messages shares a few templates: each compiled once (it costs more than a send's commit)."""
    from jinja2.sandbox import SandboxedEnvironment
    return SandboxedEnvironment(autoescape=False).from_string(source)


def _report(db, outcomes, warnings, interrupted=()):
    """The section of the result, its lines for the task output, and warnings with the exact re-send action."""
    sent = [(i, stage, to) for i, (state, stage, to) in outcomes.items() if state == sms.ACCEPTED]
    pending = db.query("SELECT id FROM sb_sms_outbox WHERE state = ? ORDER BY id LIMIT %d" % (LISTED + 1),
                       (activation.PENDING,))
    section = {"sent": [i for i, _s, _t in sent], "pending": [row[0] for row in pending[:LISTED]],
               "failed": [], "unknown": []}
    if len(pending) > LISTED:  # a batch of 10k waiting for the gateway: counted, the first ones named
        section["pending_count"] = db.query("SELECT count(*) FROM sb_sms_outbox WHERE state = ?",
                                            (activation.PENDING,))[0][0]
    lines = ["sent %s SMS to %s (%s)" % (stage, to, i) for i, stage, to in sent]
    warnings = list(warnings)
    for message_id, _account, _stage in interrupted:
        warnings.append("SMS %s was being sent when a run stopped: maybe sent, marked unknown" % message_id)
    for message_id, account, stage, state, detail in activation.to_report(db):
        section[state].append(message_id)
        warnings.append("%s SMS %s to %s %s (%s): not sent again automatically; to send it again: %s"
                        % (stage, message_id, account, "failed" if state == activation.FAILED else "may not have arrived",
                           detail, activation.resend_action(account, stage)))
    return section, lines, warnings
