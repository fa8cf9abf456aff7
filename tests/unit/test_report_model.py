"""The report model: statuses counted, coverage as driftctl computes it, exit codes as Terraform's."""

import pytest

from ansible_collections.switchboard.pbx.plugins.module_utils.reports import model


def test_counts_coverage_and_drift_exit_code():
    objects = [model.entry("accounts/+1", "in_sync"), model.entry("accounts/+2", "changed", fields=["owner"]),
               model.entry("groups/sales", "missing"), model.entry("kamailio/subscriber/x@d", "unmanaged"),
               model.entry("accounts/+3", "changed", ignored="accepted in change 42")]
    summary = model.build("drift", objects, {})["summary"]
    assert (summary["in_sync"], summary["changed"], summary["missing"], summary["unmanaged"]) == (1, 2, 1, 1)
    assert summary["drift"] == 3 and summary["ignored"] == 1
    assert summary["coverage"] == 75.0  # 3 of the 4 objects found on the platform are declared
    assert summary["by_kind"]["accounts"]["changed"] == 2
    assert summary["exit_code"] == 2


def test_only_ignored_drift_is_in_sync_and_an_unreadable_object_is_an_error():
    assert model.build("drift", [model.entry("accounts/+3", "changed", ignored="why")], {})["summary"]["exit_code"] == 0
    unreadable = [model.entry("devices/desk-1", "unreadable", detail="ssh: connection refused"),
                  model.entry("accounts/+1", "in_sync")]
    assert model.build("drift", unreadable, {})["summary"]["exit_code"] == 1


def test_an_empty_platform_and_state_is_fully_covered_and_in_sync():
    summary = model.build("drift", [], {})["summary"]
    assert summary["coverage"] == 100.0 and summary["exit_code"] == 0 and summary["total"] == 0


def test_plan_descriptions_become_entries_with_machine_reasons():
    plan = model.from_plan([
        {"address": "accounts/+2", "action": "replace", "fields": ["number", "owner"], "before": {}, "after": {}},
        {"address": "accounts/+1", "action": "create", "fields": [], "before": None, "after": {}},
        {"address": "groups/old", "action": "delete", "fields": [], "before": {}, "after": None}], {"at": "now"})
    assert [(o["address"], o["status"], o["reason"]) for o in plan["objects"]] == [
        ("accounts/+1", "missing", "declared_not_on_platform"),
        ("accounts/+2", "changed", "replace_because_number_changed"),
        ("groups/old", "unmanaged", "on_platform_not_declared")]
    assert plan["summary"]["actions"] == {"create": 1, "update": 0, "replace": 1, "delete": 1}
    assert plan["summary"]["exit_code"] == 2


def test_an_unknown_status_is_refused():
    with pytest.raises(ValueError):
        model.entry("accounts/+1", "gone")
