"""The task output's sentences are a view of the same counts as the result's summary dict."""

import re

from hypothesis import given, strategies as st

from ansible_collections.switchboard.pbx.plugins.module_utils.plan import Change
from ansible_collections.switchboard.pbx.plugins.module_utils.report import summary, summary_sentence, summary_text

KINDS = ["accounts", "groups", "numbers", "devices", "networks", "provisioning_profiles"]
ACTIONS = ["create", "replace", "update", "delete"]


def changes(*specs):
    return [Change(kind, key, action, []) for kind, action, keys in specs for key in keys]


def test_actions_in_order_kinds_joined():
    found = changes(("groups", "update", ["office"]), ("accounts", "create", ["+391", "+392"]), ("groups", "create", ["a"]),
                    ("numbers", "delete", ["101"]), ("provisioning_profiles", "create", ["p"]))
    assert summary_sentence(summary(found), False) == ("created 2 accounts, 1 group and 1 provisioning profile, "
                                                       "updated 1 group, deleted 1 number")
    assert summary_sentence(summary(found), True) == ("would create 2 accounts, 1 group and 1 provisioning profile, "
                                                      "update 1 group, delete 1 number (check mode: nothing was written)")


def test_no_change():
    assert summary_sentence({}, False) == "no change: the platform matches the declared state"
    assert summary_sentence({}, True) == "no change planned: the platform matches the declared state"
    assert summary_text([], {}, False, "/r/plan.json") == [
        "no change: the platform matches the declared state", "full plan (every change, secrets masked): /r/plan.json"]


def test_the_first_ten_are_named_then_the_plan_file():
    found = changes(("accounts", "update", ["+39%02d" % i for i in range(12)]), ("networks", "replace", ["lan"]))
    assert summary_text(found, summary(found), False, "/r/plan.json") == [
        "replaced 1 network list, updated 12 accounts",
        "replaced network list: lan",
        "updated accounts: %s and 2 more: see the plan file" % ", ".join("+39%02d" % i for i in range(10)),
        "full plan (every change, secrets masked): /r/plan.json"]


@given(st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(ACTIONS)), max_size=40))
def test_the_sentence_counts_what_the_summary_counts(pairs):
    found = [Change(kind, "k%d" % i, action, []) for i, (kind, action) in enumerate(pairs)]
    for check_mode in (False, True):
        sentence = summary_sentence(summary(found), check_mode)
        assert sum(int(n) for n in re.findall(r"\d+", sentence)) == len(found)
        named = summary_text(found, summary(found), check_mode, "/p")[1:-1]
        assert sum(len(re.findall(r"k\d+", line)) + int((re.findall(r"and (\d+) more", line) or ["0"])[0])
                   for line in named) == len(found)
