# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the running SIP server is told after a commit, and what it says about registrations.

Kamailio reads subscriber, grp, usr_preferences and dbaliases live, so no reload is needed for them.
A registration made under the old rules would stay routable until it expires, though: accounts
that were deleted, disabled, or given a new password or ACL lose their registrations at once.
The trusted peers (the permissions module's address table) are cached: a change reloads them.
"""

from __future__ import annotations

from .rpc import KamailioRpc, RpcError, RpcUnavailable

TIGHTENING_FIELDS = ("password", "enabled", "acl", "restricted_networks", "disabled flag", "allowed networks")


def usernames_to_unregister(changes):
    names = set()
    for change in changes:
        # A subscriber row no account owned was a credential: whoever registered with it is let go.
        names.update(row.username for row in change.rows if row.table == "subscriber" and row.username)
        if change.kind != "accounts":
            continue
        if change.replaces:
            names.add(change.replaces[1])
        elif change.action == "update" and any(f.split("[")[0] in TIGHTENING_FIELDS for f in change.fields):
            names.add(change.after["username"])
    return sorted(names)


def unregister(rpc_url, sip_domain, usernames, check_mode):
    """Return (report dict, warnings); a server that cannot be reached never undoes the commit."""
    report = {"rpc_url": rpc_url, "unregistered": usernames}
    if check_mode or not usernames:
        return report, []
    rpc = KamailioRpc(rpc_url, timeout=5)
    try:
        for username in usernames:
            rpc.unregister(username, sip_domain)
    except (RpcUnavailable, RpcError) as exc:
        report["unregistered"] = []
        return report, ["the PBX database is updated, but Kamailio could not be told (%s): registrations of %d "
                        "changed account(s) stay until they expire" % (exc, len(usernames))]
    return report, []


def reload_trusted_peers(rpc_url, changes, check_mode):
    """Return (reloaded: True/False, or None when there was nothing to reload, warnings)."""
    if check_mode or not any(c.kind == "trusted_peers" for c in changes):
        return None, []
    if not rpc_url:
        return False, ["the trusted peers are updated in the database, but no switchboard_pbx_rpc_url is set: Kamailio "
                       "keeps the old list until permissions.addressReload or a restart"]
    try:
        KamailioRpc(rpc_url, timeout=5).call("permissions.addressReload")
    except (RpcUnavailable, RpcError) as exc:
        return False, ["the trusted peers are updated in the database, but Kamailio could not reload them (%s): it "
                       "keeps the old list until permissions.addressReload or a restart" % exc]
    return True, []


def registrations(rpc_url):
    """username -> [registration] from Kamailio, or raise RpcUnavailable / RpcError."""
    found = {}
    for contact in KamailioRpc(rpc_url, timeout=5).registered_contacts():
        found.setdefault(contact["username"], []).append(
            {k: contact[k] for k in ("contact", "source", "expires", "user_agent")})
    return found
