"""make bench: wall time and peak memory of the real door (ansible-playbook site.yml) at N accounts.

For each N (BENCH_SIZES, default 1000 10000 100000), on a carrier-shaped state (BENCH_SHAPE=carrier, the
default: N accounts, half PGSM wizard, plus N numbers in the inventory and N/10 desk phones with two bound
channels each; BENCH_SHAPE=accounts leaves the numbers and devices out), the rows of issue 10's table:
apply on an empty database, a no-op re-run (state unchanged since the last run), the same with a cold parse
cache, a no-op that must compare everything (one file's bytes changed, nothing declared did), the plan of a
fresh CI container (check mode, no parse cache, the existing database, one field edited), that one-field
change applied, one ad-hoc switchboard.pbx.sip_account task, and the peak memory of all of them. Issue 10's targets
hold through both doors: every row but the ad-hoc task is also run through the `switchboard` command (apply, or
plan for the CI plan) with the same settings from its environment, and printed in a column of its own. Then a
breakdown by phase of the complete runs (the engine's own timings; Ansible's share is the rest of the wall
time) and, on the 10k platform, the ratio per account against a loop of switchboard.pbx.sip_account
(BENCH_LOOP_ITEMS items, default 300). Passwords of the desk phones come from a vault-encrypted secrets file,
as in production. Half the accounts are wizard accounts: the apply queues their installation SMS; the runs
after it have a gateway and must send nothing. Then the SMS part (sms_queue.py) at each N up to
SMS_SIZES_MAX (default 10000): the apply with the SMS queued against the same apply without them, and those
N messages dispatched to a local Kannel; and the kannel gateway's own throughput (sms_dispatch.py).
Each row is run BENCH_REPEAT times (default 3) and is its median run, with the range of all runs.
Results: the tables here and build/bench/results.json.
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
sys.path.insert(0, str(REPO / "tests"))
from support.cli import LAUNCHER, switchboard_env  # noqa: E402  (this checkout's switchboard command)
WORK = REPO / "build" / "bench"
BIN = pathlib.Path(sys.executable).parent
APPLY, NO_OP, NO_OP_COLD, NO_OP_FULL = "apply on an empty database", "no-op, unchanged since the last run", \
    "no-op, cold parse cache", "no-op, full comparison (bytes changed)"
CI_PLAN, ONE_FIELD, AD_HOC, PEAK = "plan in a fresh CI container", "one-field change", "sip_account: disable one", \
    "peak memory (MiB, all runs)"
TARGETS = {100000: {NO_OP: 3.0, NO_OP_COLD: 10.0, CI_PLAN: 10.0, APPLY: 15.0, ONE_FIELD: 5.0, PEAK: 1024}}
# What each run must say, or the figure measures something else (the switchboard command prints the summary's lines).
EXPECTED = {NO_OP: "nothing read: the state files", NO_OP_FULL: "no change: the platform matches",
            CI_PLAN: "would update 1 account", ONE_FIELD: '"updated 1 account",', AD_HOC: "changed=1"}
EXPECTED_SWITCHBOARD = {**EXPECTED, ONE_FIELD: "updated 1 account"}
SWITCHBOARD = "switchboard"  # results.json: the rows run through the switchboard command
TIMINGS_MARK = "BENCH-TIMINGS "
PARALLEL = " (in parallel)"  # phase_timings.PARALLEL
PHASES = ("unchanged-run check", "incremental-run check", "finding the changed objects", "parse and per-file validation", "validation across files", "read",
          "waiting for the load", "plan", "report", "write", "waiting for the plan file")


def shape(count):
    """(numbers, devices) declared with ``count`` accounts."""
    if os.environ.get("BENCH_SHAPE", "carrier") == "accounts":
        return 0, 0
    return count, count // 10


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
    return {"seconds": round(seconds, 2), "peak_rss_mib": int(peak_kib) // 1024, "timings": engine_timings(done.stdout),
            "output": done.stdout}


def engine_timings(output):
    """The platform task's timings, as the bench playbook prints them (None for other playbooks)."""
    for line in output.splitlines():
        if TIMINGS_MARK in line:
            return json.loads(json.loads("{%s}" % line.strip())["msg"][len(TIMINGS_MARK):])
    return None


class Platform:
    """One generated state, its secrets file, inventory and database, and the playbooks run against it."""

    def __init__(self, count, dsn=None, base=None):
        self.count, self.base = count, base or WORK / str(count)
        shutil.rmtree(self.base, ignore_errors=True)
        self.state = self.base / "state"
        passwords = generate(str(self.state), count, *shape(count))
        vault_password = self.base / "vault-password"
        vault_password.write_text("bench only\n")
        secrets = self.base / "secrets.yml"
        secrets.write_text(yaml.safe_dump(passwords))
        self.env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=str(REPO / "build"),
                        XDG_CACHE_HOME=str(self.base / "cache"), ANSIBLE_NOCOLOR="1")
        subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(vault_password), str(secrets)],
                       env=self.env, check=True, capture_output=True)
        inventory = self.base / "hosts.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {"pbx": {
            "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
        self.variables = {"switchboard_state_dir": str(self.state), "switchboard_sip_domain": "bench.example",
                          "switchboard_pbx_dsn": dsn or "sqlite:///%s" % (self.base / "pbx.sqlite"),
                          "switchboard_secrets_file": str(secrets), "switchboard_report_dir": str(self.base / "reports")}
        self.playbook_prefix = [str(BIN / "ansible-playbook"), "-i", str(inventory), "-e", json.dumps(self.variables)]
        self.site = self.playbook_prefix + [str(self.bench_playbook()), "--vault-password-file", str(vault_password)]
        # The same settings for the switchboard command, from its environment (as a CI job would give them):
        # switchboard_pbx_dsn is SWITCHBOARD_PBX_DSN, and so on.
        self.switchboard_env = switchboard_env(
            XDG_CACHE_HOME=self.env["XDG_CACHE_HOME"], ANSIBLE_VAULT_PASSWORD_FILE=vault_password,
            **{name.upper(): value for name, value in self.variables.items()})

    def bench_playbook(self):
        """site.yml, then the platform task's timings printed (not in site.yml's own output)."""
        path = self.base / "bench-site.yml"
        path.write_text(yaml.safe_dump([
            {"ansible.builtin.import_playbook": str(REPO / "playbooks" / "site.yml")},
            {"hosts": "all:!fleet", "gather_facts": False, "tasks": [{"ansible.builtin.debug": {
                "msg": TIMINGS_MARK + "{{ switchboard_platform.timings | to_json }}"}}]}]))
        return path

    def run(self, extra=(), cache=None):
        env = self.env if cache is None else dict(self.env, XDG_CACHE_HOME=str(cache))
        return measured(self.site + list(extra), env)

    def switchboard(self, command, cache=None):
        """`switchboard apply` or `switchboard plan`: this checkout's command, as an operator runs it."""
        env = dict(self.switchboard_env, **({} if cache is None else {"XDG_CACHE_HOME": str(cache)}))
        return measured([sys.executable, "-c", LAUNCHER, command], env)

    def ad_hoc(self, numbers, fields):
        """switchboard.pbx.sip_account once per number, in a loop: the per-item door."""
        path = self.base / ("ad-hoc-%d.yml" % len(numbers))
        task = dict({"dsn": "{{ switchboard_pbx_dsn }}", "sip_domain": "{{ switchboard_sip_domain }}",
                     "report_dir": "{{ switchboard_report_dir }}", "number": "{{ item }}"}, **fields)
        path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [
            {"switchboard.pbx.sip_account": task, "loop": numbers}]}]))
        return measured(self.playbook_prefix + [str(path)], self.env)

    def edit_one_field(self):
        """The first account's owner, from Desk 0 to Desk Zero, or back: one field of one account either way."""
        first_file = sorted(self.state.glob("accounts-*.yml"))[0]
        text = first_file.read_text()
        edited = text.replace("owner: Desk 0\n", "owner: Desk Zero\n", 1)
        first_file.write_text(edited if edited != text else text.replace("owner: Desk Zero\n", "owner: Desk 0\n", 1))

    def empty(self):
        """No database, no parse cache, no reports: as before the first apply."""
        for directory in (self.base / "cache", self.base / "reports"):
            fresh(directory)
        for path in self.base.glob("pbx.sqlite*"):
            path.unlink()

    def as_if_sms_sent(self):
        """Half the accounts are wizard accounts: the apply queued their installation SMS (no gateway, they stay
        pending). Marked accepted, as an earlier run with a gateway would have left them, the runs after the apply
        get a gateway and must send nothing (checked by bench: no SMS file written). Returns the gateway's directory."""
        sms_dir = self.base / "sms"
        if self.variables["switchboard_pbx_dsn"].startswith("sqlite:"):
            connection = sqlite3.connect(self.variables["switchboard_pbx_dsn"][len("sqlite:///"):])
            try:
                with connection:
                    connection.execute("UPDATE sb_sms_outbox SET state = 'accepted' WHERE state = 'pending'")
            finally:
                connection.close()
            self.site += ["-e", json.dumps({"switchboard_sms_gateway": "file://%s" % sms_dir})]
            self.switchboard_env["SWITCHBOARD_SMS_GATEWAY"] = "file://%s" % sms_dir
        return sms_dir

    def touch_bytes(self):
        """One more newline in the organisation file: its bytes change, nothing declared does. Run without its earlier
        version in the parse cache, the groups in it may have changed: every account is read and compared."""
        organisation = self.state / "00-organisation.yml"
        organisation.write_text(organisation.read_text() + "\n")


def bench(count, dsn=None, base=None, complete=True, repeat=None):
    """The table's rows at ``count`` accounts: every row when ``complete``, else apply, the two no-ops and peak.
    Each row is run ``repeat`` times (BENCH_REPEAT, default 3): this machine's speed wanders by a fifth from one
    run to the next, so a row is its median run (every run's seconds are kept in results.json)."""
    repeat = repeat or int(os.environ.get("BENCH_REPEAT", "3"))
    platform = Platform(count, dsn, base)

    def measured_rows(label, run, before=None, expected=None):
        expected = EXPECTED if expected is None else expected
        runs = []
        for _time in range(repeat):
            if before is not None:
                before()
            runs.append(run())
            said = expected.get(label)
            if said and said not in runs[-1]["output"]:
                raise SystemExit("%s at %d accounts did not report %r:\n%s"
                                 % (label, count, said, runs[-1]["output"][-2000:]))
            if label != APPLY and (sms_dir.exists() or "sent installation SMS" in runs[-1]["output"]):
                raise SystemExit("the runs after the apply at %d accounts sent SMS: a no-op run must send nothing" % count)
        return median(runs)

    def both_doors(label, command, cache=None, before=None, extra=()):
        """The row through ansible-playbook, then (make bench: ``complete``) through the switchboard command."""
        results[label] = measured_rows(label, lambda: platform.run(extra, cache), before)
        if complete:
            by_switchboard[label] = measured_rows(label, lambda: platform.switchboard(command, cache), before,
                                                  EXPECTED_SWITCHBOARD)

    if dsn is not None and repeat > 1:
        raise SystemExit("an apply on an empty database is repeated on SQLite only: BENCH_REPEAT=1 on PostgreSQL")
    sms_dir = platform.base / "sms"
    results, by_switchboard = {}, {}
    both_doors(APPLY, "apply", before=platform.empty if dsn is None else None)
    platform.as_if_sms_sent()
    both_doors(NO_OP, "apply")
    # Each with its own empty parse cache: the incremental run finds no earlier version of the touched file to compare
    # with, and that file declares the groups, so this run reads and compares everything (with the main cache it
    # would compare one file and find nothing).
    both_doors(NO_OP_FULL, "apply", cache=platform.base / "full-cache",
               before=lambda: platform.touch_bytes() or fresh(platform.base / "full-cache"))
    if complete:
        both_doors(NO_OP_COLD, "apply", cache=platform.base / "cold-cache",
                   before=lambda: fresh(platform.base / "cold-cache"))  # the main one stays warm
        platform.edit_one_field()
        both_doors(CI_PLAN, "plan", cache=platform.base / "ci-cache", before=lambda: fresh(platform.base / "ci-cache"),
                   extra=["--check"])
        # The first apply takes the CI plan's edit; every later run edits the field again.
        edits = iter(range(repeat))
        both_doors(ONE_FIELD, "apply", before=lambda: (next(edits, 1) and platform.edit_one_field()))
        disabled = iter("+390212%06d" % i for i in range(0, 2 * repeat, 2))  # a desk account not disabled yet, each time
        results[AD_HOC] = measured_rows(AD_HOC, lambda: platform.ad_hoc([next(disabled)], {"state": "disabled"}))
    table = {label: {k: v for k, v in figures.items() if k != "output"} for label, figures in results.items()}
    table[PEAK] = {"peak_rss_mib": max(figures["peak_rss_mib"] for figures in list(results.values())
                                       + list(by_switchboard.values()))}
    if by_switchboard:
        table[SWITCHBOARD] = {label: {k: v for k, v in figures.items() if k not in ("output", "timings")}
                              for label, figures in by_switchboard.items()}
    if complete and count == 10000:
        table["side by side"] = side_by_side(platform, table[APPLY]["seconds"])
    return table


def fresh(directory):
    shutil.rmtree(directory, ignore_errors=True)


def median(runs):
    """The run with the median wall time, with every run's seconds and the peak memory of all of them."""
    chosen = dict(sorted(runs, key=lambda figures: figures["seconds"])[len(runs) // 2])
    chosen["runs"] = [figures["seconds"] for figures in runs]
    chosen["peak_rss_mib"] = max(figures["peak_rss_mib"] for figures in runs)
    return chosen


def side_by_side(platform, apply_seconds):
    """Seconds per account of the platform apply against a loop of switchboard.pbx.sip_account (desk accounts
    given a new owner, one task item each) on the same platform."""
    items = int(os.environ.get("BENCH_LOOP_ITEMS", "300"))
    numbers = ["+390212%06d" % i for i in range(2, 2 * items + 2, 2)]
    loop = platform.ad_hoc(numbers, {"owner": "Looped owner"})
    if loop["output"].count("changed: [pbx] => (item=") != len(numbers):
        raise SystemExit("the sip_account loop did not change %d accounts:\n%s" % (len(numbers), loop["output"][-2000:]))
    per_item, per_account = loop["seconds"] / len(numbers), apply_seconds / platform.count
    return {"loop_items": len(numbers), "loop_seconds": loop["seconds"], "seconds_per_item": round(per_item, 4),
            "platform_seconds_per_account": round(per_account, 6), "ratio": round(per_item / per_account)}


def target_verdict(count, label, values, targets):
    """The verdict on each door's figure (ansible-playbook's, then the switchboard command's when measured)."""
    target = targets.get(count, {}).get(label)
    if target is None:
        return ""
    return "  (target <= %g: %s)" % (target, " / ".join("met" if value <= target else "MISSED" for value in values))


def print_table(count, table, targets=None):
    """``targets``: by default issue 10's, which are SQLite's (the moonshot's PostgreSQL tables print none). The
    switchboard command's seconds, when measured, are in a column of their own; a target holds for both doors."""
    targets = TARGETS if targets is None else targets
    numbers, devices = shape(count)
    by_switchboard = table.get(SWITCHBOARD, {})
    print("\n%d accounts, %d numbers, %d devices with channels (half wizard):" % (count, numbers, devices))
    print("  %-42s %9s %9s %13s %12s %9s" % ("run", "seconds", "peak MiB", "runs: range", "switchboard", "peak MiB"))
    for label, figures in table.items():
        if label == PEAK:
            print("  %-42s %9s %9d %13s%s" % (label, "", figures["peak_rss_mib"], "",
                                              target_verdict(count, label, [figures["peak_rss_mib"]], targets)))
        elif label not in ("side by side", SWITCHBOARD):
            runs = figures.get("runs", [figures["seconds"]])
            other = by_switchboard.get(label)
            print("  %-42s %9.2f %9d %13s %12s %9s%s" % (
                label, figures["seconds"], figures["peak_rss_mib"], "%d: %.2f-%.2f" % (len(runs), min(runs), max(runs)),
                "%.2f" % other["seconds"] if other else "-", other["peak_rss_mib"] if other else "-",
                target_verdict(count, label, [figures["seconds"]] + ([other["seconds"]] if other else []), targets)))
    print_phases(table)
    loop = table.get("side by side")
    if loop:
        print("  side by side: sip_account in a loop %.3f s per item (%d items in %.1f s); platform apply %.3f ms per "
              "account: %d x" % (loop["seconds_per_item"], loop["loop_items"], loop["loop_seconds"],
                                 loop["platform_seconds_per_account"] * 1000, loop["ratio"]))
    sys.stdout.flush()


def print_ratios(table):
    """The loop's cost per item (10k platform) against the platform's apply per account at every size measured."""
    loop = table.get(10000, {}).get("side by side")
    if loop is None:
        return
    print("\nratio per account, sip_account loop (%.3f s per item) / platform apply:" % loop["seconds_per_item"])
    for count, rows in sorted(table.items()):
        per_account = rows[APPLY]["seconds"] / count
        print("  at %7d accounts: %.3f ms per account, %d x" % (count, per_account * 1000, loop["seconds_per_item"] / per_account))


def print_phases(table):
    """Seconds per phase of each complete run; 'Ansible and start-up' is the wall time the engine did not see.
    (In brackets: work done by other processes meanwhile. The state files are parsed and checked by worker
    processes while the database is read: their cost on the critical path is 'waiting for the load'. The rules
    across files are checked by a forked child while the run plans: the figure before the brackets is the merge
    and the wait for its verdict.)"""
    runs = [label for label, figures in table.items() if figures.get("timings")]
    print("  by phase (s), (in parallel)%16s" % "" + "".join("%12s" % short(label) for label in runs))
    for phase in PHASES + ("other in the engine", "Ansible and start-up"):
        cells = []
        for label in runs:
            timings, wall = table[label]["timings"], table[label]["seconds"]
            value = {"other in the engine": timings["total"] - sum(timings.get(p, 0) for p in PHASES),
                     "Ansible and start-up": wall - timings["total"]}.get(phase, timings.get(phase))
            parallel = timings.get(phase + PARALLEL)
            cells.append("%12s" % " ".join(([] if value is None else ["%.2f" % value]) +
                                           ([] if parallel is None else ["(%.2f)" % parallel]) or ["-"]))
        print("  %-43s%s" % (phase, "".join(cells)))


def short(label):
    return {APPLY: "apply", NO_OP: "no-op", NO_OP_COLD: "no-op cold", NO_OP_FULL: "no-op full", CI_PLAN: "CI plan",
            ONE_FIELD: "one field"}.get(label, label[:11])


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


def machine_speed():
    """Seconds of a plain Python loop of 10M steps: this virtual machine's speed wanders, by up to twice, for
    minutes at a time (0.2-1.1 s measured), and every figure with it; printed before and after the tables."""
    started = time.monotonic()
    for _step in range(10 ** 7):
        pass
    seconds = time.monotonic() - started
    print("machine speed: a plain Python loop of 10M steps takes %.2f s" % seconds, flush=True)
    return seconds


def main():
    sizes = [int(n) for n in os.environ.get("BENCH_SIZES", "1000 10000 100000").split()]
    speed_before, table = machine_speed(), {}
    for count in sizes:
        table[count] = bench(count)
        print_table(count, table[count])
    print_ratios(table)
    sms, gateway_rate = sms_part(sizes)
    for count, figures in sms.items():
        table[count]["sms"] = figures
    table["kannel gateway alone (messages/s)"] = gateway_rate
    table["machine speed, before and after (s)"] = [speed_before, machine_speed()]
    (WORK / "results.json").write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
