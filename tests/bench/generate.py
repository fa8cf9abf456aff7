"""Generate a believable state directory with N accounts (half PGSM wizard, half SNOM desk phones
with ACLs), spread over files of 10k accounts, plus the desk phones' passwords for a secrets file.

A carrier's state adds a number inventory and desk phones: ``numbers`` declares that many numbers
(the accounts' own first, then spare numbers of the desks group) and ``devices`` that many SNOM devices
of the desks group, each with two channels bound to desk accounts (the bound accounts are the first
2 * devices desk accounts)."""

import os
import sys

import yaml

PER_FILE = 10000


def account_number(i):
    return "+39347%07d" % i if i % 2 else "+390212%06d" % i


def generate(directory, count, numbers=0, devices=0):
    os.makedirs(directory, exist_ok=True)
    passwords = {}
    header = {
        "provisioning_profiles": [{"name": "mobile-enterprise", "base_url": "http://127.0.0.1:5080"}],
        "networks": [{"name": "offices", "networks": ["10.0.0.0/8"]}],
        "groups": [{"name": "mobile", "provisioning_profile": "mobile-enterprise"},
                   {"name": "desks", "ip_listing": {"enabled": True, "allow": ["10.0.0.0/8"]}}],
    }
    with open(os.path.join(directory, "00-organisation.yml"), "w") as handle:
        yaml.safe_dump(header, handle, sort_keys=False)
    for start in range(0, count, PER_FILE):
        accounts = []
        for i in range(start, min(count, start + PER_FILE)):
            if i % 2:
                accounts.append({"number": account_number(i), "group": "mobile", "type": "pgsm",
                                 "activation": "wizard", "owner": "Mobile User %d" % i,
                                 "email": "user%d@example.com" % i})
            else:
                number = account_number(i)
                passwords[number] = "Desk-password-%d" % i
                accounts.append({"number": number, "group": "desks", "type": "snom", "username": "d%d" % i,
                                 "owner": "Desk %d" % i, "restricted_networks": ["offices"],
                                 "acl": [{"deny": "0.0.0.0/0"}, {"permit": "10.%d.%d.0/24" % (i // 65536 % 256, i // 256 % 256)}]})
        with open(os.path.join(directory, "accounts-%06d.yml" % start), "w") as handle:
            yaml.safe_dump({"accounts": accounts}, handle, sort_keys=False)
    _numbers(directory, count, numbers)
    _devices(directory, count, devices)
    return passwords


def _inventory_entry(i, count):
    if i < count:
        return {"number": account_number(i), "group": "mobile" if i % 2 else "desks"}
    return {"number": "+390299%07d" % i, "group": "desks", "description": "spare %d" % i}


def _numbers(directory, count, total):
    for start in range(0, total, PER_FILE):
        entries = [_inventory_entry(i, count) for i in range(start, min(total, start + PER_FILE))]
        with open(os.path.join(directory, "numbers-%06d.yml" % start), "w") as handle:
            yaml.safe_dump({"numbers": entries}, handle, sort_keys=False)


def _devices(directory, count, total):
    if 4 * total > count:
        raise SystemExit("%d devices need %d accounts (two desk accounts each)" % (total, 4 * total))
    for start in range(0, total, PER_FILE):
        entries = []
        for d in range(start, min(total, start + PER_FILE)):
            entries.append({"name": "desk-%06d" % d, "group": "desks", "platform": "snom",
                            "ip": "10.%d.%d.%d" % ((d + 1) // 65536 % 256, (d + 1) // 256 % 256, (d + 1) % 256),
                            "channels": [{"index": 1, "extension": account_number(4 * d)},
                                         {"index": 2, "extension": account_number(4 * d + 2)}]})
        with open(os.path.join(directory, "devices-%06d.yml" % start), "w") as handle:
            yaml.safe_dump({"devices": entries}, handle, sort_keys=False)


if __name__ == "__main__":
    generate(sys.argv[1], *[int(n) for n in sys.argv[2:5]])
