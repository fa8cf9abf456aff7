# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which rows of Kamailio's tables belong to an account of this platform, and why the others do not.

A row nobody owns is not harmless: an undeclared ``subscriber`` row is a credential Kamailio accepts,
a stray ``dbaliases`` row routes a number somewhere else. Such rows are drift (see ``unmanaged.py``).
"""

from __future__ import annotations

import dataclasses
import functools

from ..model import account_numbers

# How a row beyond its user@domain is shown, per table (its values are not: an unknown attribute may hold anything).
DETAIL = {"grp": " in group %s", "usr_preferences": " attribute %s"}


@dataclasses.dataclass(frozen=True)
class KamailioRow:
    """One row no account of this domain owns. Its HA1 (for subscriber rows) is never kept here."""

    table: str
    id: int
    name: str  # username or, for dbaliases, the number it routes
    domain: str  # the row's domain (dbaliases: the number's domain)
    shown: str  # the row in words, safe to print
    reason: str
    username: str = None  # set when the row is in this platform's domain: the username it serves
    number: str = None  # dbaliases in this platform's domain: the number it routes

    @property
    def key(self):
        return "%s/%s@%s" % (self.table, self.name, self.domain)


class Ownership:
    """Who owns a row: an account of this domain, by its username (and, for dbaliases, its numbers)."""

    def __init__(self, domain, accounts, unreadable_usernames=()):
        self.domain = domain
        self.accounts = accounts
        self.account_of = {a["username"]: number for number, a in accounts.items()}
        # An account whose document could not be read: its numbers are unknown, its rows are its own.
        self.opaque = set(unreadable_usernames)
        self.account_of.update((u, None) for u in self.opaque)

    @functools.cached_property
    def holder(self):
        """number -> account: only needed to explain a row, so built only then."""
        return {n: number for number, a in self.accounts.items() for n, _role in account_numbers(a)}

    def _holds(self, account, number):
        document = self.accounts[account]
        return number == account or number == document.get("secondary_number") or \
            number in document.get("additional_numbers", ())

    def _other_domain(self, *domains):
        for domain in domains:
            if domain != self.domain:
                return "of domain %r, not this platform's %r" % (domain, self.domain)
        return None

    def user_row(self, table, row_id, username, domain, detail=None):
        """A subscriber, grp or usr_preferences row no account owns (its user is not an account of the domain);
        detail: its group or attribute."""
        reason = self._other_domain(domain) or "no account has username %r" % username
        if table == "subscriber" and domain == self.domain:
            reason += ": Kamailio would accept this credential"
        shown = "%s@%s" % (username, domain) + (DETAIL[table] % detail if table in DETAIL else "")
        return KamailioRow(table, row_id, username, domain, shown, reason,
                           username=username if domain == self.domain else None)

    def alias_row(self, row_id, number, alias_domain, username, domain):
        """A dbaliases row: None when the account it routes to holds the number."""
        account = self.account_of.get(username)
        if alias_domain == domain == self.domain and account is not None and self._holds(account, number):
            return None  # the common case, first
        reason = self._other_domain(alias_domain, domain) or self._alias_reason(number, username)
        if reason is None:
            return None
        here = alias_domain == domain == self.domain
        return KamailioRow("dbaliases", row_id, number, alias_domain, "%s@%s -> %s@%s" % (number, alias_domain,
                           username, domain), reason, username=username if here else None,
                           number=number if here else None)

    def _alias_reason(self, number, username):
        if username not in self.account_of:
            return "routes number %r to username %r, which no account has" % (number, username)
        if username in self.opaque:
            return None
        account, holder = self.account_of[username], self.holder.get(number)
        if holder is None:
            return "routes number %r to username %r (account %s), which does not hold it" % (number, username, account)
        return "routes number %r of account %s to username %r (account %s)" % (number, holder, username, account)
