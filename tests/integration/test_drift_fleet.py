# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fleet drift through the real playbooks/drift.yml: real devices (sshd + baresip per 127.0.0.x) read over SSH,
nothing written to them; a hand-edited line is drift, and a device that cannot be reached is unreadable - exit
code 1, never drift - even when it is the only thing wrong."""

from __future__ import annotations

import json

from support import devices as device_support
from support.cli import completed as run_switchboard
from test_fleet_playbook import DOMAIN, assert_no_secret, book, fleet, pbx, phone_file  # noqa: F401  # pylint: disable=unused-import


def drift(book, **variables):
    """drift.yml with the fleet; returns (output, the drift.json model)."""
    output = book.apply(playbook="playbooks/drift.yml", switchboard_drift_fleet=True, **variables)
    return output, json.loads((book.report_dir / "drift.json").read_text())


def fleet_entries(model):
    return {o["address"]: (o["status"], o["fields"]) for o in model["objects"] if o["kind"] == "fleet"}


def test_fleet_drift_in_sync_changed_then_one_unreachable_device_alone_is_an_error(book, fleet):
    first, second, _third = fleet.devices
    account = book.account()
    book.device(first, "desk-a", account["number"])
    book.device(second, "desk-b")
    book.apply()  # the PBX, then the fleet: every device provisioned and registered

    output, model = drift(book)
    assert fleet_entries(model) == {"fleet/desk-a": ("in_sync", []), "fleet/desk-b": ("in_sync", [])}
    assert model["summary"]["exit_code"] == 0 and model["context"]["fleet"] is True
    assert "no drift: %d objects in sync (coverage 100.0 %%)" % model["summary"]["total"] in output

    accounts = phone_file(first, "accounts")
    written = accounts.read_text()
    accounts.write_text(written.replace("auth_pass=%s" % book.passwords[account["number"]], "auth_pass=Typed-By-Hand-9"))
    edited = accounts.stat().st_mtime_ns
    output, model = drift(book, switchboard_fail_on_drift=True, expect_rc=2)
    assert fleet_entries(model)["fleet/desk-a"] == ("changed", ["channel 1: password differs"])
    assert "drift: 1 changed (coverage 100.0 %%): see %s/drift.html" % book.report_dir in output
    assert accounts.stat().st_mtime_ns == edited  # read, never written
    assert "Typed-By-Hand-9" not in output + json.dumps(model)

    accounts.write_text(written)  # repaired by hand; then the other device goes away, and nothing else differs
    second.stop()
    output, model = drift(book, expect_rc=2, switchboard_fleet_connect_timeout=3)
    [gone] = [o for o in model["objects"] if o["address"] == "fleet/desk-b"]
    assert (gone["status"], gone["reason"]) == ("unreadable", "device_unreachable")
    assert gone["detail"] == "%s: unreachable: Connection refused" % second.address
    assert (model["summary"]["drift"], model["summary"]["unreadable"], model["summary"]["exit_code"]) == (0, 1, 1)
    assert "no drift: %d objects in sync, 1 unreadable (coverage 100.0 %%)" % (model["summary"]["total"] - 1) in output

    # the same through `switchboard drift --fleet`: settings from the environment, the device line's password from
    # the vault-encrypted secrets file, as the playbook has it
    done = run_switchboard(["drift", "--fleet", "--output", str(book.tmp_path / "cli")], env={
        "SWITCHBOARD_STATE_DIR": str(book.state_dir), "SWITCHBOARD_PBX_DSN": book.dsn,
        "SWITCHBOARD_SECRETS_FILE": str(book.secrets), "ANSIBLE_VAULT_PASSWORD_FILE": str(book.vault_password),
        "SWITCHBOARD_SIP_DOMAIN": DOMAIN, "SWITCHBOARD_FLEET_SSH_USER": device_support.DEVICE_USER,
        "SWITCHBOARD_FLEET_SSH_KEY_FILE": str(fleet.key_file), "SWITCHBOARD_FLEET_KNOWN_HOSTS": str(fleet.known_hosts),
        "SWITCHBOARD_FLEET_PROXY": "%s:%d" % (DOMAIN, book.pbx.sip_port)})
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.startswith("no drift: ") and ", 1 unreadable (coverage 100.0 %)" in done.stdout
    cli_model = json.loads((book.tmp_path / "cli" / "drift.json").read_text())
    assert fleet_entries(cli_model) == {"fleet/desk-a": ("in_sync", []), "fleet/desk-b": ("unreadable", [])}
    assert book.passwords[account["number"]] not in done.stdout + done.stderr + json.dumps(cli_model)
    assert_no_secret(book)
