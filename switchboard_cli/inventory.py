# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Settings from an Ansible inventory: the switchboard_* variables of the PBX host, read and templated by Ansible
itself (InventoryManager, VariableManager), so `{{ inventory_dir }}`, group_vars and vault values mean what they
mean to ansible-playbook. Ansible is imported here only: --help and commands without --inventory stay fast."""

from __future__ import annotations

import os

import click

from provisioning import collection

FLEET_GROUP = "fleet"  # the devices (inventory plugin switchboard.pbx.fleet); the PBX host is the one outside it
# Without an ansible.cfg, what the project's own ansible.cfg says about inventories: the fleet plugin enabled,
# and an inventory directory's state/ and secrets files are not inventory sources.
DEFAULTS = {"ANSIBLE_INVENTORY_ENABLED": "switchboard.pbx.fleet, host_list, script, auto, yaml, ini, toml",
            "ANSIBLE_INVENTORY_IGNORE_REGEX": "^state$, ^secrets", "ANSIBLE_HOST_PATTERN_MISMATCH": "ignore"}


def inventory_settings(source, host_name, vault_password_file, variables):
    """{setting: value} for ``variables`` ({setting: inventory variable}) the host defines."""
    loader, inventory, variable_manager = _load(source, vault_password_file)
    host = _pbx_host(inventory, source, host_name)
    from ansible.template import Templar

    found = variable_manager.get_vars(host=host)
    templar = Templar(loader=loader, variables=found)
    try:
        return {name: templar.template(found[variable]) for name, variable in variables.items() if variable in found}
    except Exception as exc:  # AnsibleError: its text names the variable and template, never a decrypted value
        raise click.UsageError("%s: host %s: %s" % (source, host.name, exc))


def _load(source, vault_password_file):
    from ansible.config.manager import find_ini_config_file

    if find_ini_config_file() is None:
        for variable, value in DEFAULTS.items():
            os.environ.setdefault(variable, value)
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    from ansible.vars.manager import VariableManager

    init_plugin_loader([path for path in collection._search_paths() if os.path.isdir(path)])
    loader = DataLoader()
    if vault_password_file:
        from ansible.parsing.vault import get_file_vault_secret

        secret = get_file_vault_secret(filename=vault_password_file, vault_id="default", loader=loader)
        secret.load()
        loader.set_vault_secrets([("default", secret)])
    inventory = InventoryManager(loader=loader, sources=[source])
    return loader, inventory, VariableManager(loader=loader, inventory=inventory)


def _pbx_host(inventory, source, host_name):
    if host_name:
        host = inventory.get_host(host_name)
        if host is None:
            raise click.UsageError("%s has no host %r" % (source, host_name))
        return host
    fleet = {host.name for host in inventory.get_hosts(FLEET_GROUP)} if FLEET_GROUP in inventory.groups else set()
    candidates = [host for host in inventory.get_hosts() if host.name not in fleet]
    if len(candidates) != 1:
        raise click.UsageError("%s has %s outside group %s: name the PBX host with --host" % (
            source, "no host" if not candidates else "%d hosts (%s)" % (
                len(candidates), ", ".join(sorted(h.name for h in candidates))), FLEET_GROUP))
    return candidates[0]
