"""Rules an operator expects (issue 6 §5): a wizard account's number can receive the activation SMS;
an ACL with restricted_networks leaves the account some address to register from."""

import pytest

from conftest import write_state
from test_rules import account, problems, wizard
from ansible_collections.switchboard.pbx.plugins.module_utils.declared import load as load_declared

NO_SMS = "an activation SMS cannot reach it (rule: wizard activation needs a mobile number)"
LOCKED_OUT = "the account could never register (rule: an account must be allowed to register from some address)"


@pytest.mark.parametrize("number, kind", [
    ("+390212345678", "a fixed-line number"),
    ("+39800123456", "a toll-free number"),
    ("+39899123456", "a premium-rate number"),
    ("+39848123456", "a shared-cost number"),
    ("+395512345678", "a VoIP number"),
    ("+447640123456", "a pager number"),
    ("+447012345678", "a personal (follow-me) number"),
    ("+3934712345", "in no allocated range of its country's numbering plan"),
])
def test_a_wizard_number_that_cannot_receive_sms_is_refused(tmp_path, number, kind):
    assert problems(tmp_path, accounts=[wizard(number=number)]) == [
        "s.yml: accounts[0].number: '%s' is %s: %s" % (number, kind, NO_SMS)]


@pytest.mark.parametrize("number", ["+393471234567", "+4915123456789", "+12015550123"])
def test_mobile_and_fixed_line_or_mobile_numbers_are_accepted(tmp_path, number):
    """+1 201 555 0123 is FIXED_LINE_OR_MOBILE: the North American plan does not tell them apart."""
    write_state(tmp_path / "state", {"s.yml": {"groups": [{"name": "mobile", "provisioning_profile": "p"}],
                                               "provisioning_profiles": [{"name": "p", "base_url": "http://127.0.0.1:5080"}],
                                               "accounts": [wizard(number=number)]}})
    declared, _warnings = load_declared(str(tmp_path / "state"))
    assert list(declared.objects("accounts")) == [number]


def test_a_plain_account_may_have_a_landline(tmp_path):
    write_state(tmp_path / "state", {"s.yml": {"groups": [{"name": "office"}], "accounts": [account()]}})
    declared, _warnings = load_declared(str(tmp_path / "state"))
    assert list(declared.objects("accounts")) == ["+390212345601"]


@pytest.mark.parametrize("acl", [
    [{"deny": "0.0.0.0/0.0.0.0"}],
    [{"deny": "0.0.0.0/0"}],
    [{"permit": "10.0.0.0/8"}, {"deny": "0.0.0.0/0"}],
    [{"deny": "0.0.0.0/1"}, {"deny": "128.0.0.0/1"}, {"deny": "::/0"}],
])
def test_an_acl_that_denies_everything_is_refused(tmp_path, acl):
    assert problems(tmp_path, accounts=[account(acl=acl)]) == [
        "s.yml: accounts[0].acl: the ACL denies every address: " + LOCKED_OUT]


def test_an_acl_outside_the_restricted_networks_is_refused(tmp_path):
    found = problems(tmp_path, networks=[{"name": "office-lan", "networks": ["10.1.0.0/16"]}],
                     accounts=[account(acl=[{"deny": "0.0.0.0/0"}, {"permit": "192.0.2.0/24"}],
                                       restricted_networks=["office-lan"])])
    assert found == ["s.yml: accounts[0].restricted_networks: no address the ACL permits is inside network list(s) "
                     "'office-lan': " + LOCKED_OUT]


def test_every_account_sharing_a_locked_acl_is_named(tmp_path):
    acl = [{"deny": "0.0.0.0/0"}]
    found = problems(tmp_path, accounts=[account(acl=acl), account(number="+390212345602", username="2", acl=acl)])
    assert found == ["s.yml: accounts[%d].acl: the ACL denies every address: %s" % (i, LOCKED_OUT) for i in (0, 1)]


@pytest.mark.parametrize("acl, restricted", [
    ([{"deny": "0.0.0.0/0"}, {"permit": "10.1.2.3/32"}], ["office-lan"]),
    ([{"deny": "10.0.0.0/8"}], []),
    ([], ["office-lan"]),
    ([{"deny": "0.0.0.0/1"}, {"deny": "128.0.0.0/1"}], []),  # IPv6 sources are still allowed
])
def test_an_acl_that_leaves_an_address_is_accepted(tmp_path, acl, restricted):
    write_state(tmp_path / "state", {"s.yml": {
        "groups": [{"name": "office"}], "networks": [{"name": "office-lan", "networks": ["10.1.0.0/16"]}],
        "accounts": [account(acl=acl, restricted_networks=restricted)]}})
    declared, _warnings = load_declared(str(tmp_path / "state"))
    assert list(declared.objects("accounts")) == ["+390212345601"]


def test_restricted_networks_that_hold_no_address_are_refused(tmp_path):
    found = problems(tmp_path, networks=[{"name": "nowhere", "networks": []}],
                     accounts=[account(restricted_networks=["nowhere"])])
    assert found == ["s.yml: accounts[0].restricted_networks: network list(s) 'nowhere' hold no address: " + LOCKED_OUT]
