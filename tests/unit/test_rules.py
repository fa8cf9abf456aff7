"""One test per validation rule, asserted on its exact message (file, path, rule)."""

import pytest

from conftest import write_state
from ansible_collections.switchboard.pbx.plugins.module_utils.declared import load as load_declared
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState

GROUPS = [{"name": "office", "ip_listing": {"enabled": True, "allow": ["10.1.0.0/16"]}},
          {"name": "mobile", "provisioning_profile": "enterprise"}]
PROFILES = [{"name": "enterprise", "base_url": "http://127.0.0.1:5080"}]


def account(**fields):
    base = {"number": "+390212345601", "group": "office", "type": "snom", "password": "long-enough-1"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def wizard(**fields):
    base = {"number": "+393471234567", "group": "mobile", "type": "pgsm", "activation": "wizard", "password": None}
    base.update(fields)
    return account(**base)


def problems(tmp_path, **kinds):
    state = {"groups": GROUPS, "provisioning_profiles": PROFILES}
    state.update(kinds)
    write_state(tmp_path / "state", {"s.yml": state})
    with pytest.raises(InvalidState) as failure:
        load_declared(str(tmp_path / "state"))
    return [str(p) for p in failure.value.problems]


CASES = {
    "number_is_string": (
        dict(accounts=[account(number=391234567)]),
        "s.yml: accounts[0].number: 391234567 is not a string: quote numbers and names in YAML ('391234567') "
        "(rule: schema: type)"),
    "unknown_field": (
        dict(accounts=[account(colour="red")]),
        "s.yml: accounts[0]: unknown field ('colour' was unexpected) (rule: schema: additionalProperties)"),
    "group_exists": (
        dict(accounts=[account(group="nowhere")]),
        "s.yml: accounts[0].group: group 'nowhere' is not declared (rule: a group must exist before accounts in it)"),
    "profile_exists": (
        dict(accounts=[wizard(provisioning_profile="basic")]),
        "s.yml: accounts[0].provisioning_profile: provisioning profile 'basic' is not declared "
        "(rule: references must exist)"),
    "snom_no_obfuscation": (
        dict(accounts=[account(obfuscation={"enabled": True})]),
        "s.yml: accounts[0].obfuscation: SNOM accounts cannot have obfuscation (rule: obfuscation is PGSM only)"),
    "snom_no_wizard": (
        dict(accounts=[wizard(type="snom", group="office", provisioning_profile="enterprise")]),
        "s.yml: accounts[0].activation: SNOM phones cannot be activated by SMS (rule: SNOM accounts use plain activation)"),
    "snom_sdes_only": (
        dict(accounts=[account(security_model="zrtp")]),
        "s.yml: accounts[0].security_model: SNOM supports SDES only, not 'zrtp' (rule: SNOM accounts use SDES)"),
    "wizard_e164": (
        dict(accounts=[wizard(number="123")]),
        "s.yml: accounts[0].number: '123' is not an E.164 mobile number (rule: wizard activation needs E.164)"),
    "wizard_profile": (
        dict(accounts=[wizard(group="office")]),
        "s.yml: accounts[0].provisioning_profile: no provisioning profile (none declared, none on the group) "
        "(rule: wizard activation needs a provisioning profile)"),
    "wizard_no_password": (
        dict(accounts=[wizard(password="long-enough-1")]),
        "s.yml: accounts[0].password: a wizard account's password is chosen by the system "
        "(rule: wizard accounts take no password)"),
    "number_unique": (
        dict(accounts=[account(), account(number="+390212345602", username="x", secondary_number="+390212345601")]),
        "s.yml: accounts[1].secondary_number: '+390212345601' is already the primary number of +390212345601 "
        "(s.yml: accounts[0]) (rule: a number belongs to at most one account)"),
    "username_unique": (
        dict(accounts=[account(username="100"), account(number="+390212345602", username="100")]),
        "s.yml: accounts[1].username: '100' is already the username of +390212345601 (s.yml: accounts[0]) "
        "(rule: usernames are unique)"),
    "declared_twice": (
        dict(accounts=[account(), account()]),
        "s.yml: accounts[1]: '+390212345601' is declared twice (first at s.yml: accounts[0]) (rule: accounts are unique)"),
    "number_inactive": (
        dict(numbers=[{"number": "+390212345601", "state": "inactive"}], accounts=[account()]),
        "s.yml: accounts[0].number: number '+390212345601' is inactive in the number inventory "
        "(rule: only an active number can be linked to an account)"),
    "number_group": (
        dict(numbers=[{"number": "+390212345601", "group": "mobile"}], accounts=[account()]),
        "s.yml: accounts[0].number: number '+390212345601' belongs to group 'mobile', not 'office' "
        "(rule: a number is used in its own group)"),
    "acl_network": (
        dict(accounts=[account(acl=[{"deny": "10.0.0.1/255.0.0.0"}])]),
        "s.yml: accounts[0].acl[0].deny: '10.0.0.1/255.0.0.0' is not a network: 10.0.0.1/8 has host bits set "
        "(rule: ACL entries are ip/netmask or CIDR)"),
    "restricted_networks_exist": (
        dict(accounts=[account(restricted_networks="vpn")]),
        "s.yml: accounts[0].restricted_networks: network list 'vpn' is not declared (rule: references must exist)"),
    "channel_once": (
        dict(accounts=[account()], devices=[{"name": "d1", "ip": "10.1.0.5", "platform": "snom", "channels": [
            {"index": 1, "extension": "+390212345601"}, {"index": 1, "extension": None}]}]),
        "s.yml: devices[0].channels[1].index: channel 1 is declared twice (rule: a channel holds at most one extension)"),
    "extension_one_channel": (
        dict(accounts=[account()], devices=[{"name": "d1", "ip": "10.1.0.5", "platform": "snom", "channels": [
            {"index": 1, "extension": "+390212345601"}, {"index": 2, "extension": "+390212345601"}]}]),
        "s.yml: devices[0].channels[1].extension: extension +390212345601 is already bound to 1 channel(s) "
        "(s.yml: devices[0]) (rule: an extension sits on one channel, two with multi_login)"),
    "extension_exists": (
        dict(devices=[{"name": "d1", "ip": "10.1.0.5", "platform": "snom", "channels": [
            {"index": 1, "extension": "+390212345609"}]}]),
        "s.yml: devices[0].channels[0].extension: extension '+390212345609' is not a declared account "
        "(rule: references must exist)"),
    "ip_listing": (
        dict(accounts=[account()], devices=[{"name": "d1", "ip": "192.0.2.7", "platform": "snom", "channels": [
            {"index": 1, "extension": "+390212345601"}]}]),
        "s.yml: devices[0].channels[0].extension: device d1 has IP 192.0.2.7, outside the IP listing of group office "
        "(rule: group IP listing)"),
    "voice_channels": (
        dict(accounts=[account(voice_channels=0)]),
        "s.yml: accounts[0].voice_channels: 0 is less than the minimum of 1 (rule: schema: minimum)"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_rule(tmp_path, name):
    state, message = CASES[name]
    assert message in problems(tmp_path, **state)


def test_multi_login_allows_two_channels_not_three(tmp_path):
    devices = [{"name": "d%d" % i, "ip": "10.1.0.%d" % i, "platform": "snom",
                "channels": [{"index": 1, "extension": "+390212345601"}]} for i in (1, 2, 3)]
    found = problems(tmp_path, accounts=[account(multi_login=True)], devices=devices)
    assert found == ["s.yml: devices[2].channels[0].extension: extension +390212345601 is already bound to 2 channel(s) "
                     "(s.yml: devices[0], s.yml: devices[1]) (rule: an extension sits on one channel, two with multi_login)"]


def test_all_problems_reported_at_once_across_files(tmp_path):
    write_state(tmp_path / "state", {
        "a.yml": {"groups": GROUPS, "accounts": [account(group="nowhere")]},
        "sub/b.yaml": {"accounts": [account(number="+390212345602", type="snom", obfuscation={"key": "3"})]},
        "c.yml": "accounts: [\n",
    })
    with pytest.raises(InvalidState) as failure:
        load_declared(str(tmp_path / "state"))
    text = str(failure.value)
    # A syntax error stops the rules across files; each file's own rules still report.
    assert text.startswith("2 problems in the declared state, nothing was written")
    assert "c.yml: line 2, column 1:" in text
    assert "sub/b.yaml: accounts[0].obfuscation: SNOM accounts cannot have obfuscation" in text
    write_state(tmp_path / "state", {
        "a.yml": {"groups": GROUPS, "accounts": [account(group="nowhere")]},
        "sub/b.yaml": {"accounts": [account(number="+390212345602", obfuscation={"key": "3"})]},
    })
    with pytest.raises(InvalidState) as failure:
        load_declared(str(tmp_path / "state"))
    assert [str(p) for p in failure.value.problems] == [
        "a.yml: accounts[0].group: group 'nowhere' is not declared (rule: a group must exist before accounts in it)",
        "a.yml: groups[1].provisioning_profile: provisioning profile 'enterprise' is not declared "
        "(rule: references must exist)",
        "sub/b.yaml: accounts[0].obfuscation: SNOM accounts cannot have obfuscation (rule: obfuscation is PGSM only)"]


def test_password_never_in_messages(tmp_path):
    found = problems(tmp_path, accounts=[account(password="short")])
    assert found == ["s.yml: accounts[0].password: is not a valid password (minLength 8) (rule: schema: minLength)"]
    assert "short" not in " ".join(found).replace("shorter", "")


def test_a_number_listed_twice_on_one_account(tmp_path):
    found = problems(tmp_path, accounts=[account(additional_numbers=["+390212345601", "555"])])
    assert found == ["s.yml: accounts[0].additional_numbers: '+390212345601' is already this account's primary number "
                     "(rule: a number belongs to at most one account)"]


def test_white_space_in_a_key_is_refused(tmp_path):
    found = problems(tmp_path, accounts=[account(number="+390212345601\n")])
    assert "s.yml: accounts[0].number: '+390212345601\\n': white space is not allowed here (rule: schema: not)" in found


def test_the_spec_example_number_is_e164_but_reaches_no_phone(tmp_path):
    """SPEC's +391234567890 shows the E.164 shape; it is in no allocated Italian range, so no SMS reaches it."""
    assert problems(tmp_path, accounts=[wizard(number="+391234567890")]) == [
        "s.yml: accounts[0].number: '+391234567890' is in no allocated range of its country's numbering plan: "
        "an activation SMS cannot reach it (rule: wizard activation needs a mobile number)"]


def test_a_misplaced_account_does_not_echo_its_password(tmp_path):
    write_state(tmp_path / "state", {"s.yml": {"accounts": account(password="TopSecret99")}})
    with pytest.raises(InvalidState) as failure:
        load_declared(str(tmp_path / "state"))
    assert str(failure.value.problems[0]) == "s.yml: accounts: is a mapping, not a list (rule: schema: type)"
    assert "TopSecret99" not in str(failure.value)
