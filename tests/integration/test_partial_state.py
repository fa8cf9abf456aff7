"""Merged mode with partial state directories: references to the platform's objects, and the number
inventory of accounts that this state directory does not declare (engine in-process, both databases)."""

import pytest

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState

ORGANISATION = {
    "provisioning_profiles": [{"name": "enterprise", "base_url": "http://127.0.0.1:5080"}],
    "networks": [{"name": "offices", "networks": ["10.20.0.0/16"]}],
    "groups": [{"name": "office"}, {"name": "mobile", "provisioning_profile": "enterprise"}],
    "numbers": [{"number": "+390212345601", "group": "office"}, {"number": "+390212345602", "group": "office"}],
}
DESK = {"number": "+390212345601", "group": "office", "type": "snom", "password": "Desk-4101-pw",
        "username": "4101", "restricted_networks": ["offices"]}
MOBILE = {"number": "+393471234567", "group": "mobile", "type": "pgsm", "activation": "wizard"}


def apply(tmp_path, dsn, name, state, mode="merged"):
    directory = write_state(tmp_path / name, {"s.yml": state})
    return engine.run(engine.Options(str(directory), dsn, SIP_DOMAIN, mode=mode, report_dir=str(tmp_path / "reports")))


def test_merged_mode_names_groups_profiles_and_networks_that_only_the_platform_has(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, "organisation", ORGANISATION)
    result = apply(tmp_path, pbx_dsn, "team", {"accounts": [DESK, MOBILE]})
    assert sorted(result["changes"]) == ["create accounts/+390212345601", "create accounts/+393471234567"]
    # The wizard account inherits the default profile of a group that only the platform has.
    profile = db_rows(pbx_dsn, "SELECT data FROM sb_accounts WHERE number = '+393471234567'")[0][0]
    assert '"provisioning_profile":"enterprise"' in profile
    assert db_rows(pbx_dsn, "SELECT value FROM usr_preferences WHERE username = '4101' AND attribute = 'sb_net'") == [
        ("10.20.0.0/16",)]
    assert apply(tmp_path, pbx_dsn, "team", {"accounts": [DESK, MOBILE]})["changes"] == []


def test_overridden_mode_still_needs_every_reference_declared(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, "organisation", ORGANISATION)
    with pytest.raises(InvalidState) as failure:
        apply(tmp_path, pbx_dsn, "team", {"accounts": [DESK]}, mode="overridden")
    assert [str(p) for p in failure.value.problems] == [
        "s.yml: accounts[0].group: group 'office' is not declared (rule: a group must exist before accounts in it)",
        "s.yml: accounts[0].restricted_networks: network list 'offices' is not declared (rule: references must exist)"]


def test_a_reference_nowhere_is_refused_in_merged_mode(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, "organisation", ORGANISATION)
    with pytest.raises(InvalidState) as failure:
        apply(tmp_path, pbx_dsn, "team", {"accounts": [dict(DESK, group="nowhere", restricted_networks=["vpn"])]})
    assert [str(p) for p in failure.value.problems] == [
        "s.yml: accounts[0].group: group 'nowhere' is not declared (rule: a group must exist before accounts in it)",
        "s.yml: accounts[0].restricted_networks: network list 'vpn' is not declared (rule: references must exist)"]


def test_inventory_change_cannot_strand_an_undeclared_account(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, "organisation", dict(ORGANISATION, accounts=[DESK]))
    inventory = {"groups": ORGANISATION["groups"], "numbers": [
        {"number": "+390212345601", "group": "office", "state": "inactive"}]}
    with pytest.raises(InvalidState) as failure:
        apply(tmp_path, pbx_dsn, "inventory", inventory)
    assert [str(p) for p in failure.value.problems] == [
        "s.yml: numbers[0].state: number '+390212345601' is linked to account +390212345601 on the platform, which is "
        "not in the declared state: it cannot become inactive (rule: only an active number can be linked to an account)"]
    inventory["numbers"] = [{"number": "+390212345601", "group": "mobile"}]
    with pytest.raises(InvalidState) as failure:
        apply(tmp_path, pbx_dsn, "inventory", inventory)
    assert [str(p) for p in failure.value.problems] == [
        "s.yml: numbers[0].group: number '+390212345601' is linked to account +390212345601 of group 'office' on the "
        "platform, which is not in the declared state: it cannot move to group 'mobile' (rule: a number is used in its "
        "own group)"]
    assert db_rows(pbx_dsn, "SELECT state, group_name FROM sb_numbers WHERE number = '+390212345601'") == [
        ("active", "office")]
    # A number nobody holds may become inactive.
    inventory["numbers"] = [{"number": "+390212345602", "group": "office", "state": "inactive"}]
    assert apply(tmp_path, pbx_dsn, "inventory", inventory)["changes"] == ["update numbers/+390212345602 (state)"]


def test_a_declared_account_is_held_to_the_platform_inventory(tmp_path, pbx_dsn):
    organisation = dict(ORGANISATION, numbers=[{"number": "+390212345601", "group": "office", "state": "inactive"},
                                               {"number": "+390212345609", "group": "mobile"}])
    apply(tmp_path, pbx_dsn, "organisation", organisation)
    with pytest.raises(InvalidState) as failure:
        apply(tmp_path, pbx_dsn, "team", {"accounts": [dict(DESK, additional_numbers=["+390212345609"])]})
    assert [str(p) for p in failure.value.problems] == [
        "s.yml: accounts[0].additional_numbers: number '+390212345609' belongs to group 'mobile' on the platform, not "
        "'office' (rule: a number is used in its own group)",
        "s.yml: accounts[0].number: number '+390212345601' is inactive in the number inventory on the platform "
        "(rule: only an active number can be linked to an account)"]
