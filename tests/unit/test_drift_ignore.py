"""The drift_ignore list and the fleet's device results in the report model's words: pure functions."""

from ansible_collections.switchboard.pbx.plugins.module_utils import drift
from ansible_collections.switchboard.pbx.plugins.module_utils.drift_ignore import Ignores
from ansible_collections.switchboard.pbx.plugins.module_utils.reports import model


def test_a_field_covers_the_paths_under_it_only():
    ignores = Ignores([{"address": "accounts/+1", "fields": ["acl"], "reason": "ops keeps the ACLs"}])
    obj = ignores.apply(model.entry("accounts/+1", "changed", fields=["acl[0].deny", "aclx", "acl.permit"]))
    assert (obj["fields"], obj["ignored"], obj["detail"]) == (
        ["aclx"], None, "ignored fields acl.permit, acl[0].deny: ops keeps the ACLs")


def test_patterns_match_and_fields_never_hide_a_missing_or_unmanaged_object():
    ignores = Ignores([{"address": "kamailio/*", "reason": "legacy rows, ticket 9"},
                       {"address": "accounts/+2", "fields": ["owner"], "reason": "names"},
                       {"address": "groups/typo", "reason": "never matches"}])
    stray = ignores.apply(model.entry("kamailio/subscriber/x@d", "unmanaged"))
    missing = ignores.apply(model.entry("accounts/+2", "missing"))
    assert (stray["ignored"], missing["ignored"]) == ("legacy rows, ticket 9", None)
    assert ignores.unused() == ["groups/typo"]  # the fields entry matched, though it accepted nothing


def test_device_results_become_report_entries():
    read = {"lines": [], "hotdesking": True, "phone_running": False}
    wanted = {"lines": [{"index": 1, "password": "******** (changed)"}], "hotdesking": False, "phone_running": True}
    empty = drift.device_entry({"name": "d1", "address": "127.0.0.2:22", "status": "changed", "before": read,
                                "after": wanted, "differences": ["channel 1: added (4101)"]})
    assert (empty["address"], empty["status"], empty["reason"], empty["fields"]) == (
        "fleet/d1", "missing", "lines_absent", ["channel 1: added (4101)"])
    invalid = drift.device_entry({"name": "d2", "address": "127.0.0.3:22", "status": "invalid", "before": None,
                                  "after": wanted, "differences": [], "reason": "s.yml: devices[1]: wizard"})
    assert (invalid["status"], invalid["reason"], invalid["detail"]) == (
        "unreadable", "device_invalid", "127.0.0.3:22: invalid: s.yml: devices[1]: wizard")
    assert drift.readable_report(["r/drift.json", "r/drift.junit.xml", "r/drift.html"]) == "r/drift.html"
