"""make bench (fleet part): N real devices (one sshd each on 127.0.0.x, baresip as the phone) provisioned from
nothing, then a no-change run, through the real door (ansible-playbook playbooks/fleet.yml), each verified on a
real Kamailio; then the engine alone at several pool sizes, for the per-device cost and how it scales.

    python tests/bench/fleet.py [N ...]     (default: 20 100; FLEET_WORKERS="10 20": the engine's pool sizes;
                                             FLEET_DOOR_WORKERS=10: the playbook's switchboard_fleet_workers)
"""

import dataclasses
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "build"), str(REPO / "tests")]

from ansible_collections.switchboard.pbx.plugins.module_utils import engine  # noqa: E402
from ansible_collections.switchboard.pbx.plugins.module_utils.fleet import reconcile  # noqa: E402
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.database import initialise  # noqa: E402
from support.devices import DEVICE_USER, DeviceFleet, keygen  # noqa: E402
from support.kamailio import KamailioServer  # noqa: E402

DOMAIN = "127.0.0.1"
TARGETS = {100: {"provision from nothing": 30.0, "no-change run": 10.0}}


def declare(state_dir, fleet):
    accounts, devices, passwords = [], [], {}
    for number, device in enumerate(fleet.devices, 1):
        account = "6%04d" % number
        accounts.append({"number": account, "group": "bench", "type": "sip", "username": "5%04d" % number})
        passwords[account] = "Bench-Desk-%04d-pw" % number
        devices.append({"name": "desk-%03d" % number, "group": "bench", "ip": device.ip, "port": device.port,
                        "platform": "linux_baresip", "channels": [{"index": 1, "extension": account}]})
    state_dir.mkdir(parents=True, exist_ok=True)
    state = {"groups": [{"name": "bench"}], "accounts": accounts, "devices": devices}
    (state_dir / "bench.yml").write_text(yaml.safe_dump(state))
    return passwords


def shared_key_fleet(work, count):
    fleet = DeviceFleet(count, parent_dir=str(work))
    key = keygen(work / "fleet_key", "switchboard@bench")
    for device in fleet.devices:
        device.prepare()
        (device.dir / "authorized_keys").write_text(pathlib.Path(str(key) + ".pub").read_text())
    known_hosts = work / "known_hosts"
    known_hosts.write_text("".join(device.known_hosts_line() for device in fleet.devices))
    return fleet.start(), key, known_hosts


def playbook_run(work, variables, secrets):
    inventory = work / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"pbx": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(REPO / "build"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_HOME=str(work / "ansible-home"))
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env["PATH"]
    started = time.monotonic()
    done = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory),
                           "playbooks/fleet.yml", "-e", json.dumps(dict(variables, switchboard_secrets_file=str(secrets))),
                           "--vault-password-file", str(work / "vault-pass"), "-v"],
                          cwd=REPO, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit("fleet run failed:\n" + done.stdout[-4000:] + done.stderr[-2000:])
    inside = re.search(r'"seconds": ([0-9.]+)', done.stdout)
    return seconds, float(inside.group(1))


def encrypted_secrets(work, passwords):
    (work / "vault-pass").write_text("bench vault\n")
    secrets = work / "secrets.yml"
    secrets.write_text(yaml.safe_dump(passwords))
    subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-vault"), "encrypt", "--vault-password-file",
                    str(work / "vault-pass"), str(secrets)], check=True, capture_output=True)
    return secrets


def engine_seconds(options):
    started = time.monotonic()
    result = reconcile.run(options)
    if result.get("failed"):
        raise SystemExit(result["msg"])
    return round(time.monotonic() - started, 2)


def bench(count, workers_list, door_workers):
    work = pathlib.Path(tempfile.mkdtemp(prefix="sb-fleet-bench-"))
    work.chmod(0o711)  # the device user's sshd session reads its authorized_keys below it
    dsn = "sqlite://%s" % (work / "pbx.sqlite")
    initialise(dsn)
    kamailio = KamailioServer(dsn, work, sip_domain=DOMAIN).start()
    started = time.monotonic()
    fleet, key, known_hosts = shared_key_fleet(work, count)
    devices_started = time.monotonic() - started
    figures = {"devices": count, "sshd start (s)": round(devices_started, 2), "door workers": door_workers}
    try:
        state_dir = work / "state"
        passwords = declare(state_dir, fleet)
        engine.run(engine.Options(str(state_dir), dsn, DOMAIN, passwords=passwords, report_dir=str(work / "reports")))
        variables = {"switchboard_state_dir": str(state_dir), "switchboard_pbx_dsn": dsn, "switchboard_sip_domain": DOMAIN,
                     "switchboard_pbx_rpc_url": kamailio.rpc_url, "switchboard_fleet_proxy": "%s:%d" % (DOMAIN, kamailio.sip_port),
                     "switchboard_fleet_ssh_user": DEVICE_USER, "switchboard_fleet_ssh_key_file": str(key),
                     "switchboard_fleet_known_hosts": str(known_hosts), "switchboard_fleet_sip_port": 0,
                     "switchboard_fleet_verify_timeout": 30, "switchboard_fleet_workers": door_workers}
        secrets = encrypted_secrets(work, passwords)
        for name in ("provision from nothing", "no-change run"):
            seconds, in_module = playbook_run(work, variables, secrets)
            figures[name] = round(seconds, 2)
            figures[name + ": in the module"] = in_module
        options = reconcile.FleetOptions(str(state_dir), dsn, DOMAIN, DEVICE_USER, str(key), str(known_hosts),
                                         proxy="%s:%d" % (DOMAIN, kamailio.sip_port), passwords=passwords,
                                         rpc_url=kamailio.rpc_url, sip_port=0, verify_timeout=30)
        unbound_dir = work / "unbound"
        unbound_dir.mkdir()
        (unbound_dir / "bench.yml").write_text((state_dir / "bench.yml").read_text().replace("extension: '6", "extension: null  # was '6"))
        for workers in workers_list:
            scaled = dataclasses.replace(options, workers=workers)
            figures["engine, %d workers: unbind all" % workers] = engine_seconds(dataclasses.replace(
                scaled, state_dir=str(unbound_dir)))
            figures["engine, %d workers: from nothing" % workers] = engine_seconds(scaled)
            figures["engine, %d workers: no change" % workers] = engine_seconds(scaled)
    finally:
        fleet.stop()
        kamailio.stop()
    return figures


def print_figures(figures, workers_list):
    """The door's two runs against their targets, then the engine's cost per device at each pool size."""
    count = figures["devices"]
    print("fleet of %d devices (sshd start %.1f s), playbooks/fleet.yml with %d workers:"
          % (count, figures["sshd start (s)"], figures["door workers"]))
    for name in ("provision from nothing", "no-change run"):
        limit = TARGETS.get(count, {}).get(name)
        verdict = "" if limit is None else "  (target <= %.0f s: %s)" % (limit, "met" if figures[name] <= limit else "MISSED")
        print("  %-24s %7.2f s  %6.0f ms/device  (in the module %.2f s)%s"
              % (name, figures[name], 1000 * figures[name] / count, figures[name + ": in the module"], verdict))
    print("  engine alone, per pool size (seconds, ms/device):")
    for workers in workers_list:
        seconds = {run: figures["engine, %d workers: %s" % (workers, run)] for run in ("from nothing", "no change", "unbind all")}
        runs = ["%s %.2f s (%.0f ms)" % (run, spent, 1000 * spent / count) for run, spent in seconds.items()]
        print("    %2d workers: %s" % (workers, ", ".join(runs)), flush=True)


def main():
    sizes = [int(n) for n in sys.argv[1:]] or [20, 100]
    workers_list = [int(n) for n in os.environ.get("FLEET_WORKERS", "10 20").split()]
    rows = []
    for count in sizes:
        figures = bench(count, workers_list, int(os.environ.get("FLEET_DOOR_WORKERS", "10")))
        rows.append(figures)
        print_figures(figures, workers_list)
    out = REPO / "build" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fleet.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
