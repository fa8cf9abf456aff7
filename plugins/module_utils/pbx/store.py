# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the actual state in bulk (one query per table) and write a plan in bulk (one statement per table and step)."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import ipaddress
import itertools
import json
from operator import itemgetter
from typing import NamedTuple

from .. import collector
from ..errors import SwitchboardError
from ..json_text import compact_each
from ..model import account_numbers
from .kamailio_rows import Ownership

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

# What a damaged row's message calls the object it holds.
OBJECT_NAMES = {"provisioning_profiles": "provisioning profile", "networks": "network", "groups": "group",
                "numbers": "number", "accounts": "account", "devices": "device"}

ACL_FLAG, ACL_NETWORK = "sb_acl", "sb_net"
MAIN_NUMBER, CHANNELS = "sb_main", "sb_channels"  # the caller ID and the voice_channels limit Kamailio enforces
PREFERENCES = (ACL_FLAG, ACL_NETWORK, MAIN_NUMBER, CHANNELS)
AVP_STRING = 0  # avpops usr_preferences.type: string name, string value
KAMAILIO_TABLES = ("subscriber", "dbaliases", "grp", "usr_preferences")  # the ones accounts' rows live in
JOURNAL_KEY_LENGTH = 64  # sb_journal.object_key
PEER_GROUP = 1  # the permissions address table's group that allow_source_address("1") checks


class PbxRows(NamedTuple):
    """What Kamailio's own tables say about one account (HA1s are compared, never shown). A named tuple, not a
    dataclass: the read builds one per account (100k), and a frozen dataclass is slower to build and larger;
    both are immutable and compare by value."""

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
    unknown_rows: list = dataclasses.field(default_factory=list)  # [KamailioRow] no account of the domain owns
    unreadable: list = dataclasses.field(default_factory=list)  # [DamagedRow] skipped by a tolerant read


class DamagedRow(SwitchboardError):
    """A row of the project's tables whose data column cannot be read back."""

    def __init__(self, kind, table, column, key, detail):
        self.table, self.key = table, key
        super().__init__("table %s, row %s = %r (%s %s): the data column %s: repair or delete the row, then run again"
                         % (table, column, key, OBJECT_NAMES[kind], key, detail))


def _data(kind, objs, key_field):
    """The data column of each object: its fields but those kept in columns or tables of their own."""
    skipped = NOT_IN_DATA.get(kind, (key_field,))
    return compact_each(map(_without, objs, itertools.repeat(skipped)))


def _without(obj, fields):
    data = dict(obj)  # a copy with fields popped: a third of the time of a comprehension that leaves them out
    for field in fields:
        data.pop(field, None)
    return data


def _document(kind, table, column, key, text):
    try:
        document = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise DamagedRow(kind, table, column, key, "is not valid JSON (%s)" % exc)
    if not isinstance(document, dict):
        raise DamagedRow(kind, table, column, key, "holds a JSON %s, not an object" % type(document).__name__)
    return document


def _documents(kind, table, column, rows, unreadable):
    """rows: [(key value, data, ...)] -> iterable of (row, document). A damaged row raises DamagedRow, or when
    ``unreadable`` is a list (a read that must not fail, platform_info's) is recorded there and skipped.
    One JSON parse for all documents first: 100k calls to json.loads cost seconds (and the passes over the
    rows are map()s: they run once per row)."""
    try:
        documents = json.loads("[%s]" % ",".join(map(itemgetter(1), rows)))
        if len(documents) == len(rows) and set(map(type, documents)) <= {dict}:
            return zip(rows, documents)
    except (TypeError, ValueError):
        pass  # one of them is damaged: find which, one by one
    readable = []
    for row in rows:
        try:
            readable.append((row, _document(kind, table, column, row[0], row[1])))
        except DamagedRow as damaged:
            if unreadable is None:
                raise
            unreadable.append(damaged)
    return readable


def read_actual(db, domain, tolerant=False):
    """The actual state; a damaged project row raises DamagedRow unless ``tolerant`` (then it is skipped and
    listed in ``unreadable``). Everything it builds lives on: the garbage collector waits (collector.py)."""
    with collector.paused():
        return _read_actual(db, domain, tolerant)


def _keyed(documents, key):
    """[(row, document)] -> {key value: document with its key field}; the document is the one json.loads made,
    completed in place (a copy per object costs time and memory with 100k numbers)."""
    objects = {}
    for row, document in documents:
        document[key] = row[0]
        objects[row[0]] = document
    return objects


def _read_actual(db, domain, tolerant):
    unreadable = [] if tolerant else None
    objects = {}
    for kind, (table, key, _columns) in OBJECT_TABLES.items():
        objects[kind] = _keyed(_documents(kind, table, key, db.query_batched("SELECT %s, data FROM %s" % (key, table)),
                                          unreadable), key)
    for device, index, extension in db.query_batched("SELECT device, idx, extension FROM sb_channels "
                                                     "ORDER BY device, idx"):
        if device in objects["devices"]:  # else the device's own row is unreadable
            objects["devices"][device].setdefault("channels", []).append({"index": index, "extension": extension})
    for device in objects["devices"].values():
        device.setdefault("channels", [])
    accounts, status, statuses = {}, {}, {}
    rows = db.query_batched("SELECT number, data, username, last_status, last_status_date FROM sb_accounts")
    for (number, _json, username, last_status, date), document in _documents(
            "accounts", "sb_accounts", "number", rows, unreadable):
        document["number"], document["username"] = number, username
        accounts[number] = document
        # One tuple per distinct status: an apply gives thousands of accounts the same one (memory at 1M).
        status[number] = statuses.setdefault((last_status, date), (last_status, date))
    objects["accounts"] = accounts
    unreadable_usernames = [row[2] for row in rows if row[0] not in accounts]
    del rows  # the documents' text (~50 MB at 100k accounts) is not kept while Kamailio's rows are read
    read_peer_addresses(db, objects["trusted_peers"])
    pbx, unknown_rows = _kamailio(db, Ownership(domain, accounts, unreadable_usernames))
    return Actual(objects, status, pbx, unknown_rows, unreadable or [])


class AccountRows:
    """An account's rows in Kamailio's tables, gathered per username, then made into PbxRows: the one place that
    says what each row means (the full read and the one-account door's read both use it)."""

    NONE = (False, (), None, None)  # no preference row

    def __init__(self):
        # username -> its primary number's alias row: almost every alias row, kept as one string (a set per
        # account cost ~200 MB at 1M accounts); username -> {the other numbers its alias rows name}
        self.primary, self.aliases = {}, {}
        self.disabled = set()
        # username -> [ACL flag set, allowed networks, main number, voice channels]: one record, one lookup per
        # account when its PbxRows are made (four dicts took four, each a likely cache miss at 100k accounts)
        self.preferences = {}

    def preference(self, username, attribute, value):
        found = self.preferences.get(username)
        if found is None:
            found = self.preferences[username] = [False, [], None, None]
        if attribute == ACL_FLAG:
            found[0] = True
        elif attribute == ACL_NETWORK:
            found[1].append(value)
        elif attribute == MAIN_NUMBER:
            found[2] = value
        elif attribute == CHANNELS:
            found[3] = int(value) if value.isdigit() else value  # anything else is drift

    def pbx_rows(self, username, ha1, ha1b):
        acl_flag, networks, main_number, channels = self.preferences.get(username, self.NONE)
        primary, others = self.primary.get(username), self.aliases.get(username)
        if others is None:
            aliases = frozenset(() if primary is None else (primary,))
        else:
            aliases = frozenset(others if primary is None else others | {primary})
        return PbxRows(ha1, ha1b, aliases, username in self.disabled,
                       tuple(sorted(networks)) if acl_flag else None, main_number, channels)


def _kamailio(db, owners):
    """Kamailio's rows of every domain, one query per table: the ones accounts own, per username, and the rest.
    The test for "an account of this domain owns it" is inline: it runs for every row (400k at 100k accounts)."""
    here, account_of, unknown = owners.domain, owners.account_of, []
    found = AccountRows()
    primary, aliases, disabled = found.primary, found.aliases, found.disabled
    for row_id, alias, alias_domain, username, domain in db.query_batched(
            "SELECT id, alias_username, alias_domain, username, domain FROM dbaliases"):
        # A primary number (most rows) is tested here; the rest by whether the account holds the number.
        if account_of.get(username) == alias and domain == alias_domain == here:
            primary[username] = alias
            continue
        stray = owners.alias_row(row_id, alias, alias_domain, username, domain)
        if stray:
            unknown.append(stray)
        else:
            aliases.setdefault(username, set()).add(alias)
    for row_id, username, domain, group in db.query_batched("SELECT id, username, domain, grp FROM grp"):
        if domain != here or username not in account_of:
            unknown.append(owners.user_row("grp", row_id, username, domain, group))
        elif group == "disabled":
            disabled.add(username)
    for row_id, username, domain, attribute, value in db.query_batched(
            "SELECT id, username, domain, attribute, value FROM usr_preferences"):
        if domain != here or username not in account_of:
            unknown.append(owners.user_row("usr_preferences", row_id, username, domain, attribute))
        else:
            found.preference(username, attribute, value)
    pbx = {}
    for row_id, username, domain, ha1, ha1b in db.query_batched(
            "SELECT id, username, domain, ha1, ha1b FROM subscriber"):
        if domain != here or username not in account_of:
            unknown.append(owners.user_row("subscriber", row_id, username, domain))
            continue
        pbx[username] = found.pbx_rows(username, ha1, ha1b)
    return pbx, unknown


UNTAGGED = "untagged-"  # the name a trusted address row without a tag (a peer's name) is shown under


def read_peer_addresses(db, peers):
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

        def rows(objs):
            return [[obj[columns[c]] for c in names] + [data, obj[key]] for obj, data in zip(objs, _data(kind, objs, key))]

        insert_columns = names + ["data", key]
        self.db.executemany("INSERT INTO %s (%s) VALUES (%s)"
                            % (table, ", ".join(insert_columns), ", ".join("?" * len(insert_columns))), rows(created))
        self.db.executemany("UPDATE %s SET %s data = ? WHERE %s = ?"
                            % (table, "".join("%s = ?, " % c for c in names), key), rows(updated))

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
                            list(zip([p["name"] for p in peers], _data("trusted_peers", peers, "name"))))
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

    # -- Kamailio rows no account owns ------------------------------------------
    def delete_kamailio_rows(self, rows):
        """[KamailioRow], by id: first of all, so that no row of an account written next collides with them."""
        for table in KAMAILIO_TABLES:
            self.db.executemany("DELETE FROM %s WHERE id = ?" % table, [(r.id,) for r in rows if r.table == table])

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
        if created:  # a number index left by an account row deleted by hand (foreign keys off) would collide
            self.db.execute("DELETE FROM sb_account_numbers WHERE account NOT IN (SELECT number FROM sb_accounts)")
        self.db.executemany(
            "INSERT INTO sb_accounts (number, group_name, username, last_status, last_status_date, data) "
            "VALUES (?, ?, ?, 'created', ?, ?)",
            [(a["number"], a["group"], a["username"], self.now, data)
             for (a, _r), data in zip(created, _data("accounts", [a for a, _r in created], "number"))])
        self.db.executemany("UPDATE sb_accounts SET group_name = ?, data = ? WHERE number = ?",
                            [(a["group"], data, a["number"])
                             for (a, _r), data in zip(updated, _data("accounts", [a for a, _r in updated], "number"))])
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
                            [(self.now, c.kind, _journal_key(c.key), c.action, _fields_text(tuple(c.fields)))
                             for c in changes])


@functools.lru_cache(maxsize=1024)  # 210k changes share a few lists of fields: each is encoded once
def _fields_text(fields):
    return json.dumps(list(fields))


def _journal_key(key):
    """A Kamailio row's name (usr_preferences: up to 255 characters) may not fit the journal's column:
    cut, with a digest of the whole that keeps it distinct."""
    if len(key) <= JOURNAL_KEY_LENGTH:
        return key
    return key[:JOURNAL_KEY_LENGTH - 9] + "~" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:8]
