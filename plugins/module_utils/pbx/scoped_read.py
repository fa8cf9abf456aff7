# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read only what a change to one account touches, by indexed look-ups (the ad-hoc door), or what the changes
of many objects touch (an incremental run: ``read_objects_scope``).

``store.read_actual`` reads the whole platform (seconds at 100k accounts); one account needs its own
rows, the owners of the numbers and username it wants, the groups, profiles and network lists it
names, the inventory rows of its numbers and the device channels it sits on. The result is an
``Actual`` of the same shape, so the one engine validates and plans it. Keys go to the database in
batches of ``IN (...)`` lists: one query per table and batch, never one per object.
"""

from __future__ import annotations

import json

from ..errors import SwitchboardError
from ..model import account_numbers
from .store import OBJECT_TABLES, PREFERENCES, AccountRows, Actual, read_peer_addresses

BATCH = 500  # keys per IN (...) list: well within the parameters any SQLite build or PostgreSQL takes


def _placeholders(values):
    return ", ".join("?" * len(values))


def _in_batches(db, sql, values, params=()):
    """The rows of ``sql``, whose one ``IN (%s)`` takes ``values`` (set, sorted, in batches) after ``params``."""
    values = _keys(values)
    rows = []
    for start in range(0, len(values), BATCH):
        batch = values[start:start + BATCH]
        rows.extend(db.query(sql % _placeholders(batch), tuple(params) + tuple(batch)))
    return rows


def _document(table, column, key, data):
    """A row's JSON data column; a damaged one is named (table, row), not a bare parser error."""
    try:
        document = json.loads(data)
    except (TypeError, ValueError) as exc:
        document, detail = None, "is not valid JSON (%s)" % exc
    else:
        detail = "is not a JSON object"
    if not isinstance(document, dict):
        raise SwitchboardError("table %s, row %s = %r: the data column %s: repair or delete the row, then run again"
                               % (table, column, key, detail))
    return document


def _keys(values):
    return sorted({v for v in values if v})


def read_account_row(db, number):
    """The account as stored (number and username included), or None."""
    found = _accounts(db, "number", [number])[0]
    return found.get(number)


def _accounts(db, column, values):
    """({number: account}, {number: (last_status, date)}) for the accounts whose ``column`` is in ``values``."""
    rows = _in_batches(db, "SELECT number, username, last_status, last_status_date, data FROM sb_accounts "
                           "WHERE %s IN (%%s)" % column, values)
    accounts = {number: dict(_document("sb_accounts", "number", number, data), number=number, username=username)
                for number, username, _status, _date, data in rows}
    return accounts, {number: (status, date) for number, _u, status, date, _d in rows}


def _objects(db, kind, keys):
    table, key, _columns = OBJECT_TABLES[kind]
    rows = _in_batches(db, "SELECT %s, data FROM %s WHERE %s IN (%%s)" % (key, table, key), keys)
    return {name: dict(_document(table, key, name, data), **{key: name}) for name, data in rows}


def object_keys(db, kind):
    """The keys of every object of ``kind`` on the platform (one narrow query: no data column is read)."""
    table, key = ("sb_accounts", "number") if kind == "accounts" else OBJECT_TABLES[kind][:2]
    return {row[0] for row in db.query_batched("SELECT %s FROM %s" % (key, table))}


def username_taken(db, username):
    """Whether an account or a subscriber row (even one of another domain) has this username."""
    return bool(usernames_taken(db, [username]))


def usernames_taken(db, usernames):
    """Those of ``usernames`` that an account or a subscriber row (even one of another domain) has."""
    return {row[0] for table in ("sb_accounts", "subscriber")
            for row in _in_batches(db, "SELECT username FROM %s WHERE username IN (%%s)" % table, usernames)}


def read_referable(db):
    """The platform's provisioning profiles, networks and groups (small tables): what a state may name."""
    referable = {}
    for kind in ("provisioning_profiles", "networks", "groups"):
        table, key, _columns = OBJECT_TABLES[kind]
        referable[kind] = {name: dict(_document(table, key, name, data), **{key: name})
                           for name, data in db.query("SELECT %s, data FROM %s" % (key, table))}
    return referable


def _owners(db, numbers):
    """Numbers of the accounts holding any of ``numbers`` (as primary, secondary or additional)."""
    return [row[0] for row in _in_batches(db, "SELECT account FROM sb_account_numbers WHERE number IN (%s)", numbers)]


def _devices_holding(db, number):
    """The devices with a channel bound to ``number``, each with only those channels: what the account's
    rules (one channel, two with multi_login; the groups' IP listings) look at."""
    channels = db.query("SELECT device, idx FROM sb_channels WHERE extension = ? ORDER BY device, idx", (number,))
    devices = _objects(db, "devices", [device for device, _index in channels])
    for device in devices.values():
        device["channels"] = []
    for device, index in channels:
        devices[device]["channels"].append({"index": index, "extension": number})
    return devices


def _pbx_rows(db, domain, usernames):
    """username -> PbxRows, as ``store.read_actual`` builds them, for these usernames only."""
    found = AccountRows()
    for alias, username in _in_batches(db, "SELECT alias_username, username FROM dbaliases WHERE alias_domain = ? "
                                           "AND username IN (%s)", usernames, (domain,)):
        found.aliases.setdefault(username, set()).add(alias)
    found.disabled.update(row[0] for row in _in_batches(
        db, "SELECT username FROM grp WHERE grp = 'disabled' AND domain = ? AND username IN (%s)", usernames, (domain,)))
    for username, attribute, value in _in_batches(
            db, "SELECT username, attribute, value FROM usr_preferences WHERE domain = ? AND attribute IN (?, ?, ?, ?) "
                "AND username IN (%s)", usernames, (domain,) + PREFERENCES):
        found.preference(username, attribute, value)
    return {username: found.pbx_rows(username, ha1, ha1b) for username, ha1, ha1b in _in_batches(
        db, "SELECT username, ha1, ha1b FROM subscriber WHERE domain = ? AND username IN (%s)", usernames, (domain,))}


def read_account_scope(db, domain, number, accounts, with_devices=True):
    """The Actual that a change of account ``number`` needs, given the account as it is and as it is wanted
    (``accounts``: the dicts of both, None for a side that does not exist). Without ``with_devices`` (a
    deletion, which unbinds the account itself) no device is read."""
    accounts = [a for a in accounts if a]
    numbers = [n for a in accounts for n, _role in account_numbers(a)]
    found, status = _accounts(db, "number", [number] + _owners(db, numbers))
    by_username, by_username_status = _accounts(db, "username", [a.get("username") for a in accounts])
    found.update(by_username)
    status.update(by_username_status)
    devices = _devices_holding(db, number) if with_devices else {}
    inventory = _objects(db, "numbers", numbers)
    groups = _objects(db, "groups", [a.get("group") for a in accounts]
                      + [n.get("group") for n in inventory.values()] + [d.get("group") for d in devices.values()])
    profiles = _objects(db, "provisioning_profiles", [a.get("provisioning_profile") for a in accounts]
                        + [g.get("provisioning_profile") for g in groups.values()])
    networks = _objects(db, "networks", [name for a in accounts for name in a.get("restricted_networks") or []])
    objects = {"provisioning_profiles": profiles, "networks": networks, "groups": groups, "numbers": inventory,
               "accounts": found, "devices": devices, "trusted_peers": {}}
    return Actual(objects, status, _pbx_rows(db, domain, [a["username"] for a in found.values()]))


def _whole_devices(db, names):
    """The devices named, each with all its channels (as store.read_actual reads them)."""
    devices = _objects(db, "devices", names)
    for device in devices.values():
        device["channels"] = []
    for device, index, extension in _in_batches(db, "SELECT device, idx, extension FROM sb_channels WHERE device IN (%s) "
                                                    "ORDER BY device, idx", names):
        devices[device]["channels"].append({"index": index, "extension": extension})
    return devices


def _trusted_peers(db):
    """All trusted peers (a small table), their addresses from Kamailio's address rows, as store reads them."""
    table, key, _columns = OBJECT_TABLES["trusted_peers"]
    peers = {name: dict(_document(table, key, name, data), **{key: name})
             for name, data in db.query("SELECT %s, data FROM %s" % (key, table))}
    read_peer_addresses(db, peers)
    return peers


def _versions_and_stored(devices, stored):
    return [device for both in devices.values() for device in both if device] + list(stored.values())


def read_objects_scope(db, domain, accounts, numbers, devices):
    """The Actual that the changes of many objects need (an incremental run). ``accounts``: {number: [the account
    as it was and as it is wanted, None for a side that does not exist]}; ``numbers``: inventory numbers;
    ``devices``: {name: [the device as it was and as it is wanted]}.

    Read: those objects; the accounts holding any number they name or having a username they name; every device
    with a channel bound to one of those accounts or to an extension a changed device names or has stored (with
    all its channels); the inventory rows of every number of the accounts read; the small tables (profiles,
    network lists, groups, trusted peers) whole; the Kamailio rows of the accounts read, in this domain. Rows
    that no account owns are not looked for: an incremental run runs only on a platform that has none."""
    versions = [a for both in accounts.values() for a in both if a]
    named_numbers = {n for a in versions for n, _role in account_numbers(a)} | set(numbers) | set(accounts)
    found, status = _accounts(db, "number", set(accounts) | set(_owners(db, named_numbers)))
    by_username, by_username_status = _accounts(db, "username", [a.get("username") for a in versions])
    found.update(by_username)
    status.update(by_username_status)
    stored_devices = _whole_devices(db, devices)
    # The stored channels too: a device's earlier version may be unknown (incremental_run: not in the parse cache).
    extensions = set(accounts) | {channel.get("extension") for device in _versions_and_stored(devices, stored_devices)
                                  for channel in device.get("channels") or []}
    holding = {row[0] for row in _in_batches(db, "SELECT DISTINCT device FROM sb_channels WHERE extension IN (%s)",
                                             extensions)}
    inventory = _objects(db, "numbers", named_numbers | {n for a in found.values() for n, _role in account_numbers(a)})
    objects = dict(read_referable(db), numbers=inventory, accounts=found,
                   devices=dict(stored_devices, **_whole_devices(db, holding - set(stored_devices))),
                   trusted_peers=_trusted_peers(db))
    return Actual(objects, status, _pbx_rows(db, domain, [a["username"] for a in found.values()]))
