"""ACL compilation against an independent, rule-by-rule evaluation of the ordered list."""

import ipaddress

from hypothesis import given, settings, strategies as st

from ansible_collections.switchboard.pbx.plugins.module_utils.acl import allows, compile_acl, parse_network

BASE = int(ipaddress.ip_address("10.0.0.0"))


@st.composite
def networks(draw):
    if draw(st.integers(0, 9)) == 0:
        return ipaddress.ip_network(draw(st.sampled_from(["0.0.0.0/0", "::/0", "2001:db8::/32"])))
    prefix = draw(st.integers(16, 32))
    address = BASE + draw(st.integers(0, 2 ** 16 - 1))
    return ipaddress.ip_network((address, prefix), strict=False)


addresses = st.one_of(
    st.integers(0, 2 ** 16 - 1).map(lambda n: ipaddress.ip_address(BASE + n)),
    st.sampled_from([ipaddress.ip_address(a) for a in ("192.0.2.1", "2001:db8::1", "2001:db9::1")]))


def verdict(rules, address):
    """SPEC §3 read literally: each matching rule overrides the verdict so far; default allow.
    0.0.0.0/0 is the ACL notation for any address."""
    allowed = True
    for action, network in rules:
        matches = address in network if network.version == address.version else str(network) == "0.0.0.0/0"
        if matches:
            allowed = action == "permit"
    return allowed


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["permit", "deny"]), networks()), max_size=8), st.lists(addresses, min_size=1, max_size=20))
def test_compiled_acl_agrees_with_ordered_evaluation(rules, probes):
    compiled = compile_acl(rules)
    for address in probes:
        assert allows(compiled, address) == verdict(rules, address), (rules, address)


def test_seed_example_permits_only_that_host():
    rules = [("deny", parse_network("0.0.0.0/0.0.0.0")), ("permit", parse_network("216.27.242.66/255.255.255.255"))]
    assert [str(n) for n in compile_acl(rules)] == ["216.27.242.66/32"]


def test_netmask_and_cidr_are_the_same():
    assert parse_network("10.20.0.0/255.255.0.0") == parse_network("10.20.0.0/16")
