# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The activation lifecycle's outbox (issue 7): every SMS is a row written in a transaction, unique per
(account, stage, generation), before anything is sent; dispatch.py sends the rows after the commit.

States of a row: pending -> sending (committed before the request) -> accepted -> delivered | failed;
unknown when the gateway may or may not have taken it. Nothing but an explicit action ever queues a
message a second time (a new generation), so an SMS is sent at most once per row.
"""

from __future__ import annotations

from .pbx.database import transaction

ACTIONS = {"send_installation_sms": "installation", "send_activation_sms": "activation"}
PENDING, SENDING, ACCEPTED, FAILED, UNKNOWN = "pending", "sending", "accepted", "failed", "unknown"
# The lifecycle in order (SPEC §4): an SMS marks its step only on an account that has not gone past it.
LIFECYCLE = ("created", "installation_sms_sent", "installed", "activation_sms_sent", "activated", "connected")
CHUNK = 500  # numbers per IN (...) look-up


def message_id(account, stage, generation):
    """'393471234567.installation.1': letters, digits and dots only (Kannel's dlr-url carries it)."""
    return "%s.%s.%d" % ("".join(ch for ch in account if ch.isdigit()), stage, generation)


def resend_action(account, stage):
    """The exact action that sends a message again: reports name it, nothing runs it by itself."""
    action = "send_%s_sms" % stage
    return ("switchboard.pbx.sip_account number=\"%s\" action=%s (or: ansible-playbook -i INVENTORY playbooks/sms.yml "
            "-e number=%s -e action=%s)" % (account, action, account, action))


def would_send(stage, numbers):
    return ["would send %s SMS to %s" % (stage, number) for number in numbers]


def created_wizard_accounts(changes):
    """The wizard accounts a plan creates (a replaced account is a new one): each gets its installation SMS."""
    return [c.after["number"] for c in changes
            if c.kind == "accounts" and c.action in ("create", "replace") and c.after["activation"] == "wizard"]


def created_accounts(changes):
    return [c.after["number"] for c in changes if c.kind == "accounts" and c.action in ("create", "replace")]


def queue_installations(db, now, changes):
    """In the apply's own transaction: a `created` history row per new account and the installation SMS
    of each new wizard account (only queued: dispatch sends it once committed)."""
    db.executemany("INSERT INTO sb_history (at, account, event, detail) VALUES (?, ?, 'created', NULL)",
                   [(now, number) for number in created_accounts(changes)])
    queue(db, now, "installation", created_wizard_accounts(changes))


def queue(db, now, stage, numbers):
    """One pending row per number, the next generation of (account, stage). Returns the message ids."""
    if not numbers:
        return []
    latest = latest_generations(db, stage, numbers)
    rows = [(message_id(n, stage, latest.get(n, 0) + 1), n, stage, latest.get(n, 0) + 1, PENDING, n, now, now)
            for n in numbers]
    db.executemany("INSERT INTO sb_sms_outbox (id, account, stage, generation, state, to_number, created_at, updated_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return [row[0] for row in rows]


def latest_generations(db, stage, numbers):
    """{account: highest generation of this stage}: an account deleted and declared again keeps its old rows."""
    found = {}
    for start in range(0, len(numbers), CHUNK):
        chunk = numbers[start:start + CHUNK]
        found.update(db.query("SELECT account, MAX(generation) FROM sb_sms_outbox WHERE stage = ? AND account IN (%s) "
                              "GROUP BY account" % ", ".join("?" * len(chunk)), [stage] + chunk))
    return found


def installed_without_activation(db):
    """Accounts whose client installed the app and whose activation SMS was never queued (advancing)."""
    return [row[0] for row in db.query(
        "SELECT a.number FROM sb_accounts a WHERE a.last_status = 'installed' AND NOT EXISTS "
        "(SELECT 1 FROM sb_sms_outbox o WHERE o.account = a.number AND o.stage = 'activation') ORDER BY a.number")]


def mark_interrupted_unknown(db, now):
    """Rows left in `sending` by a run that died between its commit and the gateway's answer: maybe sent,
    so `unknown` (reported), never sent again by themselves. Returns [(id, account, stage)]."""
    rows = db.query("SELECT id, account, stage FROM sb_sms_outbox WHERE state = ? ORDER BY id", (SENDING,))
    detail = "maybe sent: the run sending it stopped before the gateway's answer was recorded"
    db.executemany("UPDATE sb_sms_outbox SET state = ?, updated_at = ?, detail = ? WHERE id = ? AND state = ?",
                   [(UNKNOWN, now, detail, i, SENDING) for i, _a, _s in rows])
    add_history(db, now, [(a, "%s_sms_unknown" % s, "%s: %s" % (i, detail)) for i, a, s in rows])
    return rows


def cancel_orphans(db, now):
    """Pending messages of accounts deleted before they were sent: there is nobody to send them to."""
    db.execute("UPDATE sb_sms_outbox SET state = ?, updated_at = ?, detail = 'not sent: the account was deleted' "
               "WHERE state = ? AND NOT EXISTS (SELECT 1 FROM sb_accounts a WHERE a.number = sb_sms_outbox.account)",
               (FAILED, now, PENDING))


def add_history(db, now, events):
    """events: [(account, event, detail)]"""
    db.executemany("INSERT INTO sb_history (at, account, event, detail) VALUES (?, ?, ?, ?)",
                   [(now, account, event, detail) for account, event, detail in events])


def set_last_status(db, now, account, status):
    """Moves the account forward to ``status``, never back (a re-sent installation SMS leaves `installed`)."""
    earlier = LIFECYCLE[:LIFECYCLE.index(status)]
    db.execute("UPDATE sb_accounts SET last_status = ?, last_status_date = ? WHERE number = ? AND last_status IN (%s)"
               % ", ".join("?" * len(earlier)), (status, now, account) + earlier)


def to_report(db):
    """Messages that failed or may have been sent, the latest of their (account, stage), while the account
    still waits for that step: [(id, account, stage, state, detail)]."""
    rows = db.query(
        "SELECT o.id, o.account, o.stage, o.state, o.detail, a.last_status FROM sb_sms_outbox o "
        "JOIN sb_accounts a ON a.number = o.account WHERE o.state IN (?, ?) AND NOT EXISTS (SELECT 1 FROM sb_sms_outbox n "
        "WHERE n.account = o.account AND n.stage = o.stage AND n.generation > o.generation) ORDER BY o.id",
        (FAILED, UNKNOWN))
    waiting = {"installation": LIFECYCLE[:2], "activation": LIFECYCLE[:4]}
    return [row[:5] for row in rows if row[5] in waiting[row[2]]]


def needing_action(db):
    """For the plan file: the messages that failed or may not have arrived, each with its re-send action."""
    return [{"id": message_id, "to": account, "state": state, "detail": detail, "resend": resend_action(account, stage)}
            for message_id, account, stage, state, detail in to_report(db)]


def history(db, numbers):
    """{account: [{at, event, detail}]} in the order it happened, one query."""
    wanted, found = set(numbers), {}
    for account, at, event, detail in db.query("SELECT account, at, event, detail FROM sb_history ORDER BY id"):
        if account in wanted:
            found.setdefault(account, []).append({"at": at, "event": event, "detail": detail})
    return found


def lifecycle(dsn, sip_domain, numbers):
    """For platform_info: ({account: history}, warnings about SMS that failed or may not have arrived)."""
    with transaction(dsn, check_mode=True, sip_domain=sip_domain or None) as db:
        wanted = set(numbers)
        return history(db, numbers), ["%s SMS %s to %s %s (%s): to send it again: %s"
                                      % (stage, message_id, account, state, detail, resend_action(account, stage))
                                      for message_id, account, stage, state, detail in to_report(db)
                                      if account in wanted]
