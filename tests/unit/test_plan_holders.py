"""plan.Holders finds the usernames more than one account would hold, in the order a list per username finds them
(the plan's problems come out in that order), without keeping a list per username."""

from hypothesis import given, strategies as st

from ansible_collections.switchboard.pbx.plugins.module_utils.plan import Holders

# Each account (its key: a number) holds one username; few usernames, so that they are often shared.
ACCOUNTS = st.lists(st.tuples(st.sampled_from(["7001", "7002", "7003", "", "d1"]), st.integers(0, 10 ** 6)),
                    unique_by=lambda account: account[1], max_size=12)


def lists_per_username(accounts):
    holders = {}
    for username, key in accounts:
        holders.setdefault(username, []).append(key)
    return [(username, keys) for username, keys in holders.items() if len(keys) > 1]


@given(ACCOUNTS)
def test_the_shared_usernames_are_those_of_a_list_per_username(accounts):
    holders = Holders()
    for username, key in accounts:
        holders.add(username, key)
    assert holders.shared() == lists_per_username(accounts)


def test_a_username_held_once_is_not_shared():
    holders = Holders()
    holders.add("7001", "+390212345601")
    holders.add("7002", "+390212345602")
    holders.add("7001", "+390212345603")
    assert holders.shared() == [("7001", ["+390212345601", "+390212345603"])]
