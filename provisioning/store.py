# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the links do to the PBX database, each in one transaction of the engine's own database code.

A link is found by the SHA-256 of its token (sb_tokens keeps no clear token): the lookup compares hashes
through the primary key, so its time says nothing about how close a guess was. Writes take the engine's
write lock (BEGIN IMMEDIATE, PostgreSQL's advisory lock), so a reconcile running meanwhile plans again.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets

from .collection import module_utils

database = module_utils("pbx.database")
engine = module_utils("engine")
plan = module_utils("plan")
dlr = module_utils("sms.dlr")
SwitchboardError = module_utils("errors").SwitchboardError

TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,128}$")  # secrets.token_urlsafe's alphabet
INSTALL, ACTIVATE = "install", "activate"
PASSWORD_BYTES = 18  # 24 URL-safe characters, 144 random bits
PUBLIC_KEY_LIMIT = 16384
FINAL_STATES = ("delivered", "failed")
BEFORE_INSTALLED = ("created", "installation_sms_sent")


class LinkUnknown(Exception):
    """No such link (404)."""


class LinkGone(Exception):
    """A link that was used or has expired, or whose account is gone (410)."""


class MessageUnknown(Exception):
    """A delivery report for a message the outbox never had."""


def token_hash(token):
    return hashlib.sha256(token.encode("ascii")).hexdigest()


class Store:
    def __init__(self, dsn, sip_domain, proxy, lock_timeout):
        self.dsn, self.sip_domain, self.proxy, self.lock_timeout = dsn, sip_domain, proxy, lock_timeout

    def _transaction(self, read_only=False):
        """The engine's transaction; a database that is not there is an error, never created by a request."""
        if not database.database_exists(self.dsn):
            raise SwitchboardError("the PBX database %s does not exist: run switchboard.pbx.platform first"
                                   % database.redact_dsn(self.dsn))
        return database.transaction(self.dsn, check_mode=read_only, sip_domain=self.sip_domain,
                                    lock_timeout=self.lock_timeout)

    def check(self):
        """The database answers, has the whole schema and belongs to this SIP domain (the engine's read
        transaction checks both before it lets the body run)."""
        with self._transaction(read_only=True) as db:
            db.query("SELECT 1")

    # -- links ---------------------------------------------------------------
    @staticmethod
    def _link(db, token, purpose, now, used_is_gone=True):
        """(account, used_at) of a live link, else LinkUnknown / LinkGone."""
        if not TOKEN_SHAPE.match(token):
            raise LinkUnknown()
        rows = db.query("SELECT account, expires_at, used_at FROM sb_tokens WHERE token_hash = ? AND purpose = ?",
                        (token_hash(token), purpose))
        if not rows:
            raise LinkUnknown()
        account, expires_at, used_at = rows[0]
        if expires_at <= now or (used_at and used_is_gone):
            raise LinkGone()
        return account, used_at

    @staticmethod
    def _account(db, number):
        rows = db.query("SELECT username, last_status, data FROM sb_accounts WHERE number = ?", (number,))
        if not rows:
            raise LinkGone()  # deleted since the SMS was sent
        username, status, data = rows[0]
        return username, status, json.loads(data)

    @staticmethod
    def _history(db, at, account, event, detail=None):
        db.execute("INSERT INTO sb_history (at, account, event, detail) VALUES (?, ?, ?, ?)", (at, account, event, detail))

    def _set_status(self, db, at, account, status, detail=None):
        db.execute("UPDATE sb_accounts SET last_status = ?, last_status_date = ? WHERE number = ?", (status, at, account))
        self._history(db, at, account, status, detail)

    def installed(self, token, platform):
        """The installation link was opened: `installed` the first time (the link keeps redirecting until
        it expires: a preview fetch must not cost the user the download). Returns (account, download URL)."""
        now = engine.now()
        with self._transaction() as db:
            account, used_at = self._link(db, token, INSTALL, now, used_is_gone=False)
            _username, status, data = self._account(db, account)
            if not used_at:
                db.execute("UPDATE sb_tokens SET used_at = ? WHERE token_hash = ?", (now, token_hash(token)))
                if status in BEFORE_INSTALLED:
                    self._set_status(db, now, account, "installed", "platform %s" % platform)
                else:  # a later stage stays (a re-sent installation SMS opened after activation): history only
                    self._history(db, now, account, "installed", "platform %s" % platform)
            return account, self._download_url(db, data.get("provisioning_profile"), platform)

    @staticmethod
    def _download_url(db, profile, platform):
        rows = db.query("SELECT data FROM sb_provisioning_profiles WHERE name = ?", (profile,))
        urls = (json.loads(rows[0][0]).get("download_urls") or {}) if rows else {}
        return urls.get(platform) or urls.get("other")

    def activation_open(self, token):
        """Whether the activation link can still be used (the page's GET: consumes nothing)."""
        with self._transaction(read_only=True) as db:
            account, _used = self._link(db, token, ACTIVATE, engine.now())
            self._account(db, account)

    def activate(self, token, public_key=None):
        """The account's configuration, every open activation link of the account used up. A wizard account
        gets a new password (see _new_credential); a plain account's password is declared (the engine would
        write its HA1 back over a new one, locking the client out): its answer carries none, the client keeps
        the one configured by hand, and the link still delivers the configuration and takes the client key."""
        now = engine.now()
        with self._transaction() as db:
            account, _used = self._link(db, token, ACTIVATE, now)
            username, _status, data = self._account(db, account)
            password = None
            if data.get("activation") == "wizard":
                password = self._new_credential(db, username, data)
            db.execute("UPDATE sb_tokens SET used_at = ? WHERE account = ? AND purpose = ? AND used_at IS NULL",
                       (now, account, ACTIVATE))
            self._set_status(db, now, account, "activated")
            if public_key:
                db.execute("DELETE FROM sb_client_keys WHERE account = ?", (account,))
                db.execute("INSERT INTO sb_client_keys (account, public_key, uploaded_at) VALUES (?, ?, ?)",
                           (account, public_key, now))
                self._history(db, now, account, "key_uploaded")
        return account, {"username": username, "password": password, "domain": self.sip_domain, "proxy": self.proxy,
                         "security_model": data.get("security_model"), "obfuscation": data.get("obfuscation"),
                         "keepalive": data.get("keepalive", False)}

    def _new_credential(self, db, username, data):
        """A password made now: its HA1 pair replaces the subscriber row, the account is enabled (unless
        declared disabled). Only the answer carries the clear password."""
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        ha1, ha1b = plan.ha1_pair(username, self.sip_domain, password)
        db.execute("DELETE FROM subscriber WHERE username = ? AND domain = ?", (username, self.sip_domain))
        db.execute("INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES (?, ?, '', ?, ?)",
                   (username, self.sip_domain, ha1, ha1b))
        if data.get("enabled", True):
            db.execute("DELETE FROM grp WHERE username = ? AND domain = ? AND grp = 'disabled'", (username, self.sip_domain))
        return password

    # -- delivery reports ----------------------------------------------------
    def delivery_report(self, message_id, status):
        """Kannel's report for one of our messages: the outbox row's new state (unchanged once final, and
        never back from delivered/failed to accepted) and a history row when it changed."""
        event = dlr.event(status)
        now = engine.now()
        with self._transaction() as db:
            rows = db.query("SELECT account, stage, state FROM sb_sms_outbox WHERE id = ?", (message_id,))
            if not rows:
                raise MessageUnknown()
            account, stage, state = rows[0]
            if state in FINAL_STATES or state == event:
                return account, state
            detail = "message %s, delivery report %s" % (message_id, status)
            db.execute("UPDATE sb_sms_outbox SET state = ?, updated_at = ?, detail = ? WHERE id = ?",
                       (event, now, detail, message_id))
            self._history(db, now, account, "%s_sms_%s" % (stage, event), detail)
        return account, event
