# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ordered deny/permit lists compiled to the set of allowed networks.

Semantics (SPEC §3): rules apply in order, each matching rule overrides the verdict so far,
the default is allow. Kamailio then only has to test "is the source in one of these CIDRs".
"""

from __future__ import annotations

import ipaddress

EVERYWHERE = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def parse_network(text):
    """'10.0.0.0/255.0.0.0', '10.0.0.0/8' or a bare address -> ip_network (host bits must be zero)."""
    return ipaddress.ip_network(text.strip(), strict=True)


def _subtract(networks, removed):
    result = []
    for net in networks:
        if net.version != removed.version or not net.overlaps(removed):
            result.append(net)
        elif removed.supernet_of(net):
            continue
        else:  # net strictly contains removed
            result.extend(net.address_exclude(removed))
    return result


def _collapse(networks):
    by_version = {}
    for net in networks:
        by_version.setdefault(net.version, []).append(net)
    return [net for version in sorted(by_version) for net in ipaddress.collapse_addresses(by_version[version])]


def covered(network):
    """What one rule matches. 0.0.0.0/0 is the ACL notation for "any" (deny 0.0.0.0/0.0.0.0 then permit
    one host means only that host, SPEC §3), so it covers IPv6 sources too."""
    return list(EVERYWHERE) if network == EVERYWHERE[0] else [network]


def compile_acl(rules):
    """rules: [(action, network)] with action 'permit'/'deny' -> sorted list of allowed networks."""
    allowed = list(EVERYWHERE)
    for action, network in rules:
        for net in covered(network):
            if action == "permit":
                allowed = _collapse(allowed + [net])
            else:
                allowed = _collapse(_subtract(allowed, net))
    return allowed


def intersect(left, right):
    """Networks in both lists (each list collapsed): CIDR blocks either nest or are disjoint."""
    result = []
    for a in left:
        for b in right:
            if a.version == b.version and a.overlaps(b):
                result.append(a if b.supernet_of(a) else b)
    return _collapse(result)


def allows(networks, address):
    address = ipaddress.ip_address(address)
    return any(address in net for net in networks)
