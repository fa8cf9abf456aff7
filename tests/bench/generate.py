"""Generate a believable state directory with N accounts (half PGSM wizard, half SNOM desk phones
with ACLs), spread over files of 10k accounts, plus the desk phones' passwords for a secrets file."""

import os
import sys

import yaml


def generate(directory, count):
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
    per_file = 10000
    for start in range(0, count, per_file):
        accounts = []
        for i in range(start, min(count, start + per_file)):
            if i % 2:
                accounts.append({"number": "+39347%07d" % i, "group": "mobile", "type": "pgsm",
                                 "activation": "wizard", "owner": "Mobile User %d" % i,
                                 "email": "user%d@example.com" % i})
            else:
                number = "+390212%06d" % i
                passwords[number] = "Desk-password-%d" % i
                accounts.append({"number": number, "group": "desks", "type": "snom", "username": "d%d" % i,
                                 "owner": "Desk %d" % i, "restricted_networks": ["offices"],
                                 "acl": [{"deny": "0.0.0.0/0"}, {"permit": "10.%d.%d.0/24" % (i // 65536 % 256, i // 256 % 256)}]})
        with open(os.path.join(directory, "accounts-%06d.yml" % start), "w") as handle:
            yaml.safe_dump({"accounts": accounts}, handle, sort_keys=False)
    return passwords


if __name__ == "__main__":
    generate(sys.argv[1], int(sys.argv[2]))
