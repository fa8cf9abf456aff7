"""`switchboard import-csv` of N rows (default 10 000) against a state of N accounts (tests/bench/generate.py),
timed end to end as an operator runs it (a new process each time), the target being 5 s at 10k rows:
with a cold parse cache (the first command after a clone) and a warm one (the state parsed before, as by
a plan).

    .venv/bin/python tests/bench/import_csv.py [N]
"""

import csv
import os
import pathlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "tests" / "bench"), str(REPO / "tests")]

from generate import generate  # noqa: E402
from support.cli import LAUNCHER as LAUNCH  # noqa: E402

TARGET_SECONDS = 5.0


def write_csv(path, count):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["fullName", "gsmNumber", "email", "securityModel", "description"])
        for n in range(count):  # +39348...: free, the generated state holds +39347... and +390212...
            writer.writerow(["Imported Person %d" % n, "+39348%07d" % n, "person%d@example.com" % n, "end-to-site",
                             "Personal account"])


def timed(args, env):
    """(wall seconds, CPU seconds of the command and its helper process, CompletedProcess): on a shared machine
    the CPU time says what the command costs, the wall time what the operator waited."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", LAUNCH] + args, env=env, capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return seconds, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), done


def bench(count):
    work = pathlib.Path(tempfile.mkdtemp(prefix="import-csv-bench-"))
    try:
        state = work / "state"
        generate(str(state), count)
        rows = work / "users.csv"
        write_csv(rows, count)
        env = dict(os.environ, XDG_CACHE_HOME=str(work / "cache"), SWITCHBOARD_STATE_DIR=str(state))
        command = ["import-csv", str(rows), "--group", "mobile", "--profile", "mobile-enterprise"]
        cold, cold_cpu, done = timed(command + ["--dry-run"], env)
        assert done.returncode == 0, done.stderr[-2000:]
        warm, warm_cpu, done = timed(command, env)
        assert done.returncode == 0, done.stderr[-2000:]
        print("import-csv of %d rows against %d accounts: %.2f s (CPU %.2f s) with a cold parse cache (dry run), "
              "%.2f s (CPU %.2f s) warm (file written); target %.0f s"
              % (count, count, cold, cold_cpu, warm, warm_cpu, TARGET_SECONDS))
        print("target <= %.0f s: %s (load average %.1f)" % (
            TARGET_SECONDS, "met" if max(cold, warm) <= TARGET_SECONDS else "MISSED", os.getloadavg()[0]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    bench(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
