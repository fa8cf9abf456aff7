# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One ad-hoc account change (switchboard.pbx.sip_account) as the one engine sees it.

Only what the change touches is read (``pbx.scoped_read``): the account, the objects it names and the
accounts holding the numbers or username it wants. Those objects are declared as they are, the account
as wanted, and the same validation and plan run on that small state. Another account's problem
elsewhere on the platform can therefore never block this change, and the cost does not grow with the
platform.
"""

from __future__ import annotations

from . import declared as declared_state
from . import gather, model
from .errors import InvalidState, Problem
from .loader import Document
from .model import declared_form
from .pbx import scoped_read
from .plan import ACTIVATED, generate_username

SOURCE = "sip_account"  # how messages name the ad-hoc account
# Taking an account out of service is never held up by what was already wrong before the change.
SAFETY_STATES = ("disabled", "absent")


class AccountChange:
    """``read`` and ``declared`` are the engine's hooks, called in this order inside the run's transaction."""

    def __init__(self, number, fields, state):
        self.number, self.state = number, state
        self.fields = {k: v for k, v in fields.items() if v is not None}
        self.actual = self.current = self.wanted = None

    def read(self, db, domain):
        current = self.current = scoped_read.read_account_row(db, self.number)
        self.wanted = self._wanted(current)
        if current is None and self.wanted is not None and not self.wanted.get("username"):
            self.wanted["username"] = self._free_username(db)
        self.actual = scoped_read.read_account_scope(db, domain, self.number, [current, self.wanted],
                                                     with_devices=self.wanted is not None)
        return self.actual

    def _wanted(self, current):
        """The account as this change wants it (declared form), None when it is to be deleted."""
        if self.state == "absent":
            return None
        if self.state in ("enabled", "disabled") and current is None:
            raise InvalidState([Problem(SOURCE, "number", "%s: cannot be %s: there is no such account"
                                        % (self.number, self.state), "the account must exist")])
        account = dict(declared_form(current) if current else {}, **self.fields)
        account["number"] = self.number
        if self.state in ("enabled", "disabled"):
            account["enabled"] = self.state == "enabled"
        return account

    @staticmethod
    def _free_username(db):
        """The planner checks a generated username against the accounts it was given; only a few were read
        here, so the username is chosen against the whole platform, by indexed look-ups."""
        while True:
            username = generate_username(())
            if not scoped_read.username_taken(db, username):
                return username

    def declared(self):
        """(Declared, RulesVerdict): every object read, as it is, and this account as wanted."""
        documents = [Document(SOURCE, self._document(self.wanted))]
        try:
            declared, warnings = declared_state.validate(documents)
        except InvalidState as exc:
            if self.state not in SAFETY_STATES or self.current is None:
                raise
            declared, warnings = self._despite(documents, exc.problems)
        return declared, declared_state.RulesVerdict.given(list(warnings) + self._stays_disabled())

    def _document(self, account):
        document = gather.as_state(self.actual)
        document["accounts"] = [account] if account else []
        return document

    def _despite(self, documents, problems):
        """Disable or delete although the account's surroundings break a rule, if they broke it before this
        change too (a rule added since, a device moved outside an IP listing): said in a warning each."""
        before = self._problems(self._document(declared_form(self.current)))
        if any(p not in before or p.rule.startswith("schema") for p in problems):
            raise InvalidState(problems)
        return model.build(documents), ["%s (so before this change too: the account is %s all the same)"
                                        % (p, self.state) for p in problems]

    @staticmethod
    def _problems(document):
        try:
            declared_state.validate([Document(SOURCE, document)])
        except InvalidState as exc:
            return exc.problems
        return []

    def selects(self, change):
        return change.kind == "accounts" and change.key == self.number

    def _stays_disabled(self):
        """Asked to enable a wizard account whose client has not activated it: it stays disabled, and says why."""
        asked = self.state == "enabled" or self.fields.get("enabled") is True
        account = self.wanted or {}
        if not asked or account.get("activation") != "wizard":
            return []
        status = self.actual.account_status.get(self.number, ("created", None))[0]
        if status in ACTIVATED:
            return []
        return ["account %s stays disabled: it is a wizard account whose client is not activated yet (last status: %s); "
                "it is enabled when its client completes the activation" % (self.number, status)]
