# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SIP server tests' declared state: every change rewrites the state directory and runs the
engine (load -> validate -> plan -> apply), so what Kamailio enforces is what the engine wrote."""

from __future__ import annotations

import yaml

from ansible_collections.switchboard.pbx.plugins.module_utils import engine
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.database import initialise, parse_dsn

GROUP = "lab"


def sqlite_path(dsn):
    return parse_dsn(dsn)[1]


def acl_for(networks):
    """None: any source; a list (possibly empty): only these networks."""
    if networks is None:
        return []
    return [{"deny": "0.0.0.0/0"}] + [{"permit": network} for network in networks]


class DeclaredPlatform:
    def __init__(self, dsn, domain, workdir, rpc_url=None):
        self.dsn, self.domain, self.rpc_url = dsn, domain, rpc_url
        self.state_dir = workdir / "state"
        self.report_dir = workdir / "reports"
        self.accounts = {}  # username -> declared account
        self.passwords = {}  # number -> password (as the vault would hand them over)
        self.trusted_peers = {}  # name -> declared trusted peer
        initialise(dsn)
        self.last_result = None

    def apply(self, mode="merged"):
        self.state_dir.mkdir(parents=True, exist_ok=True)
        state = {"groups": [{"name": GROUP}], "accounts": list(self.accounts.values()),
                 "trusted_peers": list(self.trusted_peers.values())}
        (self.state_dir / "lab.yml").write_text(yaml.safe_dump(state, sort_keys=False))
        self.last_result = engine.run(engine.Options(
            str(self.state_dir), self.dsn, self.domain, passwords=dict(self.passwords),
            report_dir=str(self.report_dir), rpc_url=self.rpc_url, mode=mode))
        return self.last_result

    def add_account(self, username, password, numbers=(), disabled=False, networks=None, voice_channels=None):
        numbers = list(numbers) or ["9%s" % username]
        self.accounts[username] = {"number": numbers[0], "group": GROUP, "type": "sip", "username": username,
                                   "enabled": not disabled, "additional_numbers": numbers[1:], "acl": acl_for(networks)}
        if voice_channels is not None:
            self.accounts[username]["voice_channels"] = voice_channels
        self.passwords[numbers[0]] = password
        return self.apply()

    def add_trusted_peer(self, name, address, description=None):
        self.trusted_peers[name] = {"name": name, "address": address, "description": description}
        return self.apply()

    def remove_trusted_peer(self, name):
        """Overridden mode: every other object of the platform must be declared here too."""
        del self.trusted_peers[name]
        return self.apply(mode="overridden")

    def set_password(self, username, password):
        self.passwords[self.accounts[username]["number"]] = password
        return self.apply()

    def set_disabled(self, username, disabled):
        self.accounts[username]["enabled"] = not disabled
        return self.apply()

    def set_networks(self, username, networks):
        self.accounts[username]["acl"] = acl_for(networks)
        return self.apply()

    def set_secondary_number(self, username, number):
        """Primary and secondary numbers are not editable: the account is re-created (allow_replace)."""
        self.accounts[username].update(secondary_number=number, allow_replace=True)
        return self.apply()

    def add_number(self, username, number):
        self.accounts[username]["additional_numbers"].append(number)
        return self.apply()

    def remove_number(self, number):
        for account in self.accounts.values():
            if number in account["additional_numbers"]:
                account["additional_numbers"].remove(number)
        return self.apply()
