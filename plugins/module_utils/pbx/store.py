# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the actual state in bulk (one query per table) and write a plan in bulk (one statement per table and step)."""

from __future__ import annotations

import dataclasses
import ipaddress
import json

from ..model import account_numbers

# kind -> (table, key column, {column: field of the object})
OBJECT_TABLES = {
    "provisioning_profiles": ("sb_provisioning_profiles", "name", {}),
    "networks": ("sb_networks", "name", {}),
    "groups": ("sb_groups", "name", {"provisioning_profile": "provisioning_profile"}),
    "numbers": ("sb_numbers", "number", {"group_name": "group", "state": "state"}),
    "devices": ("sb_devices", "name", {"group_name": "group", "ip": "ip"}),
    "trusted_peers": ("sb_trusted_peers", "name", {}),
}
# Fields kept in columns or tables of their own rather than in the JSON document.
NOT_IN_DATA = {"accounts": ("number", "username"), "devices": ("name", "channels"),
               "trusted_peers": ("name", "address")}

ACL_FLAG, ACL_NETWORK = "sb_acl", "sb_net"
MAIN_NUMBER, CHANNELS = "sb_main", "sb_channels"  # the caller ID and the voice_channels limit Kamailio enforces
PREFERENCES = (ACL_FLAG, ACL_NETWORK, MAIN_NUMBER, CHANNELS)
AVP_STRING = 0  # avpops usr_preferences.type: string name, string value
PEER_GROUP = 1  # the permissions address table's group that allow_source_address("1") checks


@dataclasses.dataclass(frozen=True)
class PbxRows:
    """What Kamailio's own tables say about one account (HA1s are compared, never shown)."""

    ha1: str
    ha1b: str
    aliases: frozenset
    disabled: bool
    allowed_networks: tuple = None  # None: no restriction
    main_number: str = None  # caller ID (usr_preferences sb_main)
    voice_channels: int = None  # concurrent calls (usr_preferences sb_channels); None: no limit


@dataclasses.dataclass
class Actual:
    objects: dict  # kind -> {key: normalized object}
    account_status: dict  # number -> (last_status, last_status_date)
    pbx: dict  # username -> PbxRows


def _data(kind, obj, key_field):
    skipped = NOT_IN_DATA.get(kind, (key_field,))
    return json.dumps({k: v for k, v in obj.items() if k not in skipped}, sort_keys=True, separators=(",", ":"))


def _load_many(texts):
    """One JSON parse for many documents: 100k calls to json.loads cost seconds."""
    return json.loads("[%s]" % ",".join(texts))


def read_actual(db, domain):
    objects = {}
    for kind, (table, key, _columns) in OBJECT_TABLES.items():
        objects[kind] = {row[0]: dict(json.loads(row[1]), **{key: row[0]})
                         for row in db.query("SELECT %s, data FROM %s" % (key, table))}
    for device, index, extension in db.query("SELECT device, idx, extension FROM sb_channels ORDER BY device, idx"):
        objects["devices"][device].setdefault("channels", []).append({"index": index, "extension": extension})
    for device in objects["devices"].values():
        device.setdefault("channels", [])
    accounts, status = {}, {}
    rows = db.query("SELECT number, username, last_status, last_status_date, data FROM sb_accounts")
    documents = _load_many(row[4] for row in rows)
    for (number, username, last_status, date, _data), document in zip(rows, documents):
        document.update(number=number, username=username)
        accounts[number] = document
        status[number] = (last_status, date)
    objects["accounts"] = accounts
    _read_peer_addresses(db, objects["trusted_peers"])

    aliases, disabled, acl_flag, networks = {}, set(), set(), {}
    main_numbers, channels = {}, {}
    for alias, username in db.query("SELECT alias_username, username FROM dbaliases WHERE alias_domain = ?", (domain,)):
        aliases.setdefault(username, set()).add(alias)
    for (username,) in db.query("SELECT username FROM grp WHERE domain = ? AND grp = 'disabled'", (domain,)):
        disabled.add(username)
    for username, attribute, value in db.query(
            "SELECT username, attribute, value FROM usr_preferences WHERE domain = ? AND attribute IN (?, ?, ?, ?)",
            (domain,) + PREFERENCES):
        if attribute == ACL_FLAG:
            acl_flag.add(username)
        elif attribute == MAIN_NUMBER:
            main_numbers[username] = value
        elif attribute == CHANNELS:
            channels[username] = int(value) if value.isdigit() else value  # anything else is drift
        else:
            networks.setdefault(username, []).append(value)
    pbx = {}
    for username, ha1, ha1b in db.query("SELECT username, ha1, ha1b FROM subscriber WHERE domain = ?", (domain,)):
        pbx[username] = PbxRows(ha1, ha1b, frozenset(aliases.get(username, ())), username in disabled,
                                tuple(sorted(networks.get(username, ()))) if username in acl_flag else None,
                                main_number=main_numbers.get(username), voice_channels=channels.get(username))
    return Actual(objects, status, pbx)


UNTAGGED = "untagged-"  # the name a trusted address row without a tag (a peer's name) is shown under


def _read_peer_addresses(db, peers):
    """A trusted peer's address is what Kamailio trusts: the address row, not the project's copy.
    A row no project row names is a trusted peer too (shown, removed in overridden mode)."""
    addresses = {}
    for tag, ip, mask in db.query("SELECT tag, ip_addr, mask FROM address WHERE grp = ?", (PEER_GROUP,)):
        name = tag or "%s%s-%s" % (UNTAGGED, ip.replace(":", "."), mask)
        addresses.setdefault(name, []).append("%s/%s" % (ip, mask))
    for name, found in addresses.items():
        peer = peers.setdefault(name, {"name": name, "description": None})
        peer["address"] = " ".join(sorted(found))  # two rows for one peer: drift, rewritten as one
    for peer in peers.values():
        peer.setdefault("address", None)  # the address row is missing: drift


class Writer:
    """Bulk statements for the plan's steps, inside the run's transaction."""

    def __init__(self, db, domain, now):
        self.db, self.domain, self.now = db, domain, now

    # -- plain objects ---------------------------------------------------------
    def upsert_objects(self, kind, created, updated):
        table, key, columns = OBJECT_TABLES[kind]
        names = list(columns)

        def row(obj):
            return [obj[columns[c]] for c in names] + [_data(kind, obj, key), obj[key]]

        insert_columns = names + ["data", key]
        self.db.executemany("INSERT INTO %s (%s) VALUES (%s)"
                            % (table, ", ".join(insert_columns), ", ".join("?" * len(insert_columns))),
                            [row(o) for o in created])
        self.db.executemany("UPDATE %s SET %s data = ? WHERE %s = ?"
                            % (table, "".join("%s = ?, " % c for c in names), key), [row(o) for o in updated])

    def delete_objects(self, kind, keys):
        table, key, _columns = OBJECT_TABLES[kind]
        self.db.executemany("DELETE FROM %s WHERE %s = ?" % (table, key), [(k,) for k in keys])

    # -- trusted peers: the project's row and the address row Kamailio trusts ---
    def write_trusted_peers(self, created, updated, deleted):
        """Rewritten rather than updated: either row may be missing (drift). deleted: the peers as read."""
        names = [(p["name"],) for p in updated + deleted]
        self.db.executemany("DELETE FROM sb_trusted_peers WHERE name = ?", names)
        self.db.executemany("DELETE FROM address WHERE grp = %d AND tag = ?" % PEER_GROUP, names)
        untagged = [p["address"].split("/") for p in deleted if p["name"].startswith(UNTAGGED) and p["address"]]
        self.db.executemany("DELETE FROM address WHERE grp = %d AND (tag IS NULL OR tag = '') AND ip_addr = ? AND mask = ?"
                            % PEER_GROUP, [(ip, int(mask)) for ip, mask in untagged])
        peers = created + updated
        self.db.executemany("INSERT INTO sb_trusted_peers (name, data) VALUES (?, ?)",
                            [(p["name"], _data("trusted_peers", p, "name")) for p in peers])
        rows = []
        for peer in peers:
            network = ipaddress.ip_network(peer["address"])
            rows.append((str(network.network_address), network.prefixlen, peer["name"]))
        self.db.executemany("INSERT INTO address (grp, ip_addr, mask, port, tag) VALUES (%d, ?, ?, 0, ?)" % PEER_GROUP,
                            rows)

    # -- devices: channels are the bindings ------------------------------------
    def unbind_channels(self, device_names):
        self.db.executemany("DELETE FROM sb_channels WHERE device = ?", [(n,) for n in device_names])

    def bind_channels(self, devices):
        self.db.executemany("INSERT INTO sb_channels (device, idx, extension) VALUES (?, ?, ?)",
                            [(d["name"], c["index"], c["extension"]) for d in devices for c in d["channels"]])

    # -- accounts ----------------------------------------------------------------
    def disable_accounts(self, usernames):
        rows = [(u, self.domain) for u in usernames]
        self.db.executemany("DELETE FROM grp WHERE username = ? AND domain = ? AND grp = 'disabled'", rows)
        self.db.executemany("INSERT INTO grp (username, domain, grp) VALUES (?, ?, 'disabled')", rows)

    def delete_accounts(self, accounts):
        """accounts: [(number, username)]. Unbinding logs the extension out of its devices first.
        Returns the channels that were unbound, {number: [(device, index)]}."""
        numbers = [(n,) for n, _u in accounts]
        unbound = {}
        if numbers:
            for device, index, number in self.db.query(
                    "SELECT device, idx, extension FROM sb_channels WHERE extension IS NOT NULL"):
                unbound.setdefault(number, []).append((device, index))
            wanted = {n for n, _u in accounts}
            unbound = {n: places for n, places in unbound.items() if n in wanted}
        self.db.executemany("UPDATE sb_channels SET extension = NULL WHERE extension = ?", numbers)
        self.db.executemany("DELETE FROM sb_account_numbers WHERE account = ?", numbers)
        self._delete_pbx_rows([u for _n, u in accounts])
        self.db.executemany("DELETE FROM subscriber WHERE username = ? AND domain = ?",
                            [(u, self.domain) for _n, u in accounts])
        self.db.executemany("DELETE FROM sb_accounts WHERE number = ?", numbers)
        return unbound

    def rebind(self, places):
        """[(device, index, number)]: channels a replaced account held, for its new incarnation."""
        self.db.executemany("UPDATE sb_channels SET extension = ? WHERE device = ? AND idx = ? AND extension IS NULL",
                            [(number, device, index) for device, index, number in places])

    def _delete_pbx_rows(self, usernames):
        rows = [(u, self.domain) for u in usernames]
        self.db.executemany("DELETE FROM dbaliases WHERE username = ? AND domain = ?", rows)
        self.db.executemany("DELETE FROM grp WHERE username = ? AND domain = ?", rows)
        self.db.executemany("DELETE FROM usr_preferences WHERE username = ? AND domain = ? AND attribute IN (%s)"
                            % ", ".join("'%s'" % a for a in PREFERENCES), rows)

    def write_accounts(self, created, updated):
        """created/updated: [(account object, PbxRows)]; every derived row is rewritten for them."""
        self.db.executemany(
            "INSERT INTO sb_accounts (number, group_name, username, last_status, last_status_date, data) "
            "VALUES (?, ?, ?, 'created', ?, ?)",
            [(a["number"], a["group"], a["username"], self.now, _data("accounts", a, "number")) for a, _r in created])
        self.db.executemany("UPDATE sb_accounts SET group_name = ?, data = ? WHERE number = ?",
                            [(a["group"], _data("accounts", a, "number"), a["number"]) for a, _r in updated])
        self.db.executemany("DELETE FROM sb_account_numbers WHERE account = ?", [(a["number"],) for a, _r in updated])
        self._delete_pbx_rows([a["username"] for a, _r in updated])
        everything = created + updated
        # Rewritten rather than updated: a subscriber row deleted behind our back comes back.
        self.db.executemany("DELETE FROM subscriber WHERE username = ? AND domain = ?",
                            [(a["username"], self.domain) for a, _r in updated])
        self.db.executemany("INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES (?, ?, '', ?, ?)",
                            [(a["username"], self.domain, r.ha1, r.ha1b) for a, r in everything])
        self.db.executemany("INSERT INTO sb_account_numbers (number, account, role) VALUES (?, ?, ?)",
                            [(n, a["number"], role) for a, _r in everything for n, role in account_numbers(a)])
        self.db.executemany("INSERT INTO dbaliases (alias_username, alias_domain, username, domain) VALUES (?, ?, ?, ?)",
                            [(n, self.domain, a["username"], self.domain) for a, r in everything for n in sorted(r.aliases)])
        self.db.executemany("INSERT INTO grp (username, domain, grp) VALUES (?, ?, 'disabled')",
                            [(a["username"], self.domain) for a, r in everything if r.disabled])
        preferences = []
        for a, r in everything:
            if r.main_number is not None:
                preferences.append((a["username"], self.domain, MAIN_NUMBER, AVP_STRING, r.main_number))
            if r.voice_channels is not None:
                preferences.append((a["username"], self.domain, CHANNELS, AVP_STRING, str(r.voice_channels)))
            if r.allowed_networks is not None:
                preferences.append((a["username"], self.domain, ACL_FLAG, AVP_STRING, "1"))
                preferences.extend((a["username"], self.domain, ACL_NETWORK, AVP_STRING, n) for n in r.allowed_networks)
        self.db.executemany("INSERT INTO usr_preferences (uuid, username, domain, attribute, type, value) "
                            "VALUES ('', ?, ?, ?, ?, ?)", preferences)

    def journal(self, changes):
        self.db.executemany("INSERT INTO sb_journal (at, kind, object_key, action, fields) VALUES (?, ?, ?, ?, ?)",
                            [(self.now, c.kind, c.key, c.action, json.dumps(c.fields)) for c in changes])
