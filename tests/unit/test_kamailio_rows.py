"""Which Kamailio rows an account of the domain owns, and the reason given for each one it does not."""

import pytest

from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.kamailio_rows import Ownership
from ansible_collections.switchboard.pbx.plugins.module_utils.unmanaged import claim

DOMAIN = "pbx.example"
ACCOUNTS = {
    "+390212345601": {"number": "+390212345601", "username": "7001", "secondary_number": "+390212345611", "additional_numbers": ["111"]},
    "+390212345602": {"number": "+390212345602", "username": "7002", "secondary_number": None, "additional_numbers": []},
}
OWNERS = Ownership(DOMAIN, ACCOUNTS, unreadable_usernames=["7009"])


@pytest.mark.parametrize("number, username", [("+390212345601", "7001"), ("+390212345611", "7001"), ("111", "7001"),
                                              ("+390212345602", "7002"), ("whatever", "7009")])
def test_an_alias_of_a_number_its_account_holds_is_owned(number, username):
    assert OWNERS.alias_row(1, number, DOMAIN, username, DOMAIN) is None


@pytest.mark.parametrize("number, alias_domain, username, domain, reason", [
    ("111", DOMAIN, "7002", DOMAIN, "routes number '111' of account +390212345601 to username '7002' "
                                    "(account +390212345602)"),
    ("555", DOMAIN, "7002", DOMAIN, "routes number '555' to username '7002' (account +390212345602), "
                                    "which does not hold it"),
    ("111", DOMAIN, "8888", DOMAIN, "routes number '111' to username '8888', which no account has"),
    ("111", "old.example", "7001", DOMAIN, "of domain 'old.example', not this platform's 'pbx.example'"),
    ("111", DOMAIN, "7001", "old.example", "of domain 'old.example', not this platform's 'pbx.example'"),
])
def test_a_stray_alias_says_why(number, alias_domain, username, domain, reason):
    row = OWNERS.alias_row(7, number, alias_domain, username, domain)
    assert (row.reason, row.key, row.id) == (reason, "dbaliases/%s@%s" % (number, alias_domain), 7)
    # Only a row of this domain may be claimed by a declared account (by its number or username).
    assert (row.number, row.username) == ((number, username) if alias_domain == domain == DOMAIN else (None, None))


def test_user_rows_name_their_table_and_never_a_value():
    row = OWNERS.user_row("subscriber", 3, "9999", DOMAIN)
    assert (row.key, row.shown, row.reason) == (
        "subscriber/9999@pbx.example", "9999@pbx.example",
        "no account has username '9999': Kamailio would accept this credential")
    row = OWNERS.user_row("usr_preferences", 4, "7001", "old.example", "sb_net")
    assert (row.key, row.shown, row.reason, row.username) == (
        "usr_preferences/7001@old.example", "7001@old.example attribute sb_net",
        "of domain 'old.example', not this platform's 'pbx.example'", None)


def test_a_declared_number_claims_its_stray_targets_before_a_username_does():
    stray_target = OWNERS.alias_row(1, "111", DOMAIN, "7002", DOMAIN)
    in_the_way = OWNERS.user_row("subscriber", 2, "7100", DOMAIN)
    nobodys = OWNERS.user_row("grp", 3, "9999", DOMAIN, "disabled")
    claimed, rest = claim([stray_target, in_the_way, nobodys], usernames={"7002": "B", "7100": "C"},
                          numbers={"111": "A"})
    assert claimed == {"A": [stray_target], "C": [in_the_way]} and rest == [nobodys]
