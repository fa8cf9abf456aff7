"""make bench: wall time and peak memory of the real door (ansible-playbook site.yml) at N accounts.

For each N (BENCH_SIZES, default 1000 10000 100000): check mode on an empty database (cold parse
cache), apply, a no-op re-run, a one-field change, and one ad-hoc switchboard.pbx.sip_account task
(disable one account) on the applied platform. Passwords of the desk phones come from a
vault-encrypted secrets file, as in production. Half the accounts are wizard accounts: the apply queues
their installation SMS (no gateway: they stay pending); then, as if an earlier run had sent them, the
runs after it have a gateway and must send nothing (checked: no SMS file written).
Then the SMS part (sms_queue.py) at each N up to SMS_SIZES_MAX (default 10000): the apply with the SMS
queued against the same apply without them, and those N messages dispatched to a local Kannel; and the
kannel gateway's own throughput (sms_dispatch.py). Results: a table here and build/bench/results.json.
"""

import json
import os
import pathlib
import shutil
import sqlite3
import subprocess
import sys
import time

import yaml

import sms_dispatch
import sms_queue
from generate import generate

REPO = pathlib.Path(__file__).resolve().parents[2]
WORK = REPO / "build" / "bench"
BIN = pathlib.Path(sys.executable).parent
TARGETS = {100000: {"apply": 30.0, "no-op re-run": 10.0, "sip_account: disable one account": 3.0}}


def measured(command, env):
    """Run ``command`` in a child that reports its descendants' peak RSS (the module process included)."""
    probe = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]);"
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode, file=sys.stderr)")
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", probe] + command, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    peak_kib, returncode = done.stderr.strip().splitlines()[-1].split()
    if int(returncode) != 0:
        raise SystemExit("bench run failed:\n" + done.stdout[-3000:] + done.stderr[-3000:])
    return seconds, int(peak_kib) // 1024, done.stdout


def bench(count):
    base = WORK / str(count)
    shutil.rmtree(base, ignore_errors=True)
    state = base / "state"
    passwords = generate(str(state), count)
    vault_password = base / "vault-password"
    vault_password.write_text("bench only\n")
    secrets = base / "secrets.yml"
    secrets.write_text(yaml.safe_dump(passwords))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(REPO / "build"),
               XDG_CACHE_HOME=str(base / "cache"), ANSIBLE_NOCOLOR="1")
    subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(vault_password), str(secrets)],
                   env=env, check=True, capture_output=True)
    inventory = base / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"pbx": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    variables = {"switchboard_state_dir": str(state), "switchboard_pbx_dsn": "sqlite:///%s" % (base / "pbx.sqlite"),
                 "switchboard_sip_domain": "bench.example", "switchboard_secrets_file": str(secrets),
                 "switchboard_report_dir": str(base / "reports")}
    command = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(REPO / "playbooks" / "site.yml"),
               "--vault-password-file", str(vault_password), "-e", json.dumps(variables)]
    results = {}
    results["check (empty database, cold cache)"] = measured(command + ["--check"], env)
    results["apply"] = measured(command, env)
    sms_dir = base / "sms"
    as_if_sent(base / "pbx.sqlite")
    command += ["-e", json.dumps({"switchboard_sms_gateway": "file://%s" % sms_dir})]
    results["no-op re-run"] = measured(command, env)
    first_file = sorted(state.glob("accounts-*.yml"))[0]
    first_file.write_text(first_file.read_text().replace("owner: Desk 0\n", "owner: Desk Zero\n", 1))
    results["one-field change"] = measured(command, env)
    results["sip_account: disable one account"] = measured(
        [str(BIN / "ansible-playbook"), "-i", str(inventory), str(ad_hoc_playbook(base)), "-e", json.dumps(variables)], env)
    for label, (_seconds, _peak, output) in results.items():
        expected = {"no-op re-run": "no change: the platform matches", "one-field change": '"updated 1 account",',
                    "sip_account: disable one account": "changed=1"}.get(label)
        if expected and expected not in output:
            raise SystemExit("%s at %d accounts did not report %r:\n%s" % (label, count, expected, output[-2000:]))
    if sms_dir.exists() or "sent installation SMS" in results["no-op re-run"][2]:
        raise SystemExit("the runs after the apply at %d accounts sent SMS: a no-op run must send nothing" % count)
    return {label: {"seconds": round(seconds, 2), "peak_rss_mib": peak} for label, (seconds, peak, _o) in results.items()}


def as_if_sent(database):
    """The apply's queued installation SMS, marked accepted as an earlier run with a gateway would have left them."""
    connection = sqlite3.connect(str(database))
    try:
        with connection:
            connection.execute("UPDATE sb_sms_outbox SET state = 'accepted' WHERE state = 'pending'")
    finally:
        connection.close()


def sms_part(sizes):
    """{N: figures} of sms_queue.py, and the kannel gateway's own messages per second."""
    largest = int(os.environ.get("SMS_SIZES_MAX", "10000"))
    figures = {count: sms_queue.bench(count) for count in sizes if count <= largest}
    for count, found in figures.items():
        for label, figure in found.items():
            verdict = "" if label != "queueing overhead (%)" else "  (target <= 10%%: %s)" % (
                "met" if found["queueing within 10%"] else "MISSED")
            if label != "queueing within 10%":
                print("%-9d %-36s %9s%s" % (count, "SMS: " + label, figure, verdict), flush=True)
    gateway_rate = sms_dispatch.dispatch(2000)
    return figures, round(gateway_rate, 1)


def ad_hoc_playbook(base):
    """The ad-hoc door: its cost must not grow with the platform (it reads only what the change touches)."""
    path = base / "ad-hoc.yml"
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [{"switchboard.pbx.sip_account": {
        "dsn": "{{ switchboard_pbx_dsn }}", "sip_domain": "{{ switchboard_sip_domain }}",
        "report_dir": "{{ switchboard_report_dir }}", "number": "+390212000000", "state": "disabled"}}]}]))
    return path


def main():
    sizes = [int(n) for n in os.environ.get("BENCH_SIZES", "1000 10000 100000").split()]
    table = {}
    print("%-9s %-36s %9s %12s" % ("accounts", "run", "seconds", "peak MiB"))
    for count in sizes:
        table[count] = bench(count)
        for label, figures in table[count].items():
            target = TARGETS.get(count, {}).get(label)
            verdict = "" if target is None else ("  (target <= %.0f s: %s)" % (target, "met" if figures["seconds"] <= target else "MISSED"))
            print("%-9d %-36s %9.2f %12d%s" % (count, label, figures["seconds"], figures["peak_rss_mib"], verdict), flush=True)
    sms, gateway_rate = sms_part(sizes)
    for count, figures in sms.items():
        table[count]["sms"] = figures
    table["kannel gateway alone (messages/s)"] = gateway_rate
    (WORK / "results.json").write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
