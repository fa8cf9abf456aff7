# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ordered deny/permit lists compiled to the set of allowed networks.

Semantics (SPEC §3): rules apply in order, each matching rule overrides the verdict so far,
the default is allow. Kamailio then only has to test "is the source in one of these CIDRs".
The work is done on address intervals (integers), which keeps 100k accounts' ACLs cheap;
ipaddress parses the rules and turns the intervals back into CIDR blocks.
"""

from __future__ import annotations

import functools
import ipaddress

ANY = ipaddress.ip_network("0.0.0.0/0")
FULL = {4: ((0, 2 ** 32 - 1),), 6: ((0, 2 ** 128 - 1),)}
ADDRESS = {4: ipaddress.IPv4Address, 6: ipaddress.IPv6Address}


@functools.lru_cache(maxsize=65536)
def parse_network(text):
    """'10.0.0.0/255.0.0.0', '10.0.0.0/8' or a bare address -> ip_network (host bits must be zero)."""
    return ipaddress.ip_network(text.strip(), strict=True)


def _span(network):
    return network.version, int(network.network_address), int(network.broadcast_address)


def covered(network):
    """What one rule matches. 0.0.0.0/0 is the ACL notation for "any" (deny 0.0.0.0/0.0.0.0 then permit
    one host means only that host, SPEC §3), so it covers IPv6 sources too."""
    if network == ANY:
        return [(4,) + FULL[4][0], (6,) + FULL[6][0]]
    return [_span(network)]


def _add(intervals, low, high):
    merged = []
    for start, end in intervals:
        if end + 1 < low or start > high + 1:
            merged.append((start, end))
        else:
            low, high = min(low, start), max(high, end)
    merged.append((low, high))
    return tuple(sorted(merged))


def _remove(intervals, low, high):
    kept = []
    for start, end in intervals:
        if end < low or start > high:
            kept.append((start, end))
            continue
        if start < low:
            kept.append((start, low - 1))
        if end > high:
            kept.append((high + 1, end))
    return tuple(kept)


def _networks(allowed):
    result = []
    for version in (4, 6):
        for start, end in allowed[version]:
            result.extend(ipaddress.summarize_address_range(ADDRESS[version](start), ADDRESS[version](end)))
    return result


def compile_acl(rules):
    """rules: [(action, network)] with action 'permit'/'deny' -> list of allowed networks (v4 first, sorted)."""
    allowed = dict(FULL)
    for action, network in rules:
        for version, low, high in covered(network):
            change = _add if action == "permit" else _remove
            allowed[version] = change(allowed[version], low, high)
    return _networks(allowed)


def restrict(allowed, networks):
    """The part of ``allowed`` inside ``networks`` (both lists of ip_network)."""
    inside = {4: (), 6: ()}
    for network in networks:
        version, low, high = _span(network)
        inside[version] = _add(inside[version], low, high)
    result = {4: (), 6: ()}
    for network in allowed:
        version, low, high = _span(network)
        for start, end in inside[version]:
            if start <= high and end >= low:
                result[version] = _add(result[version], max(start, low), min(end, high))
    return _networks(result)


def allows(networks, address):
    address = ipaddress.ip_address(address)
    return any(address in net for net in networks)
