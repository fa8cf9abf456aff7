"""Drift at scale: `switchboard drift` over N accounts (default 100000; target <= 10 s, as the no-op run).

The state comes from generate.py and is applied once through the engine (the platform door's own call), with
the desk phones' passwords; then `switchboard drift` runs twice as a real command (cold parse cache, then warm)
and once more after one account is edited on the PBX. Prints the wall times and whether each warm run
meets the target; exits 1 when drift's exit code is not the expected one.

    .venv/bin/python tests/bench/drift.py [N]"""

import os
import pathlib
import shutil
import sys
import tempfile
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path[:0] = [str(REPO / "build"), str(REPO / "tests"), str(HERE)]

from generate import generate  # noqa: E402
from support.cli import completed as run_switchboard  # noqa: E402
from ansible_collections.switchboard.pbx.plugins.module_utils import engine  # noqa: E402

TARGET_SECONDS = 10.0
DOMAIN = "pbx.bench.example"


def timed_drift(env, work, expected):
    started = time.monotonic()
    done = run_switchboard(["drift", "--output", str(work / "reports")], env=env, cwd=work)
    seconds = time.monotonic() - started
    if done.returncode != expected:
        raise SystemExit("drift exited %d, not %d:\n%s%s" % (done.returncode, expected, done.stdout, done.stderr[-3000:]))
    return seconds, done.stdout.strip()


def main(count):
    work = pathlib.Path(tempfile.mkdtemp(prefix="switchboard-bench-drift-"))
    os.environ["XDG_CACHE_HOME"] = str(work / "cache")
    try:
        passwords = generate(str(work / "state"), count)
        dsn = "sqlite:///%s" % (work / "pbx.sqlite")
        started = time.monotonic()
        engine.run(engine.Options(str(work / "state"), dsn, DOMAIN, passwords=passwords,
                                  report_dir=str(work / "plans")))
        print("apply of %d accounts: %.1f s" % (count, time.monotonic() - started))
        shutil.rmtree(work / "cache", ignore_errors=True)  # the first drift parses every file again
        env = {"SWITCHBOARD_STATE_DIR": str(work / "state"), "SWITCHBOARD_PBX_DSN": dsn,
               "SWITCHBOARD_SIP_DOMAIN": DOMAIN, "XDG_CACHE_HOME": str(work / "cache")}
        results = [("drift, cold parse cache",) + timed_drift(env, work, 0),
                   ("drift, warm parse cache",) + timed_drift(env, work, 0)]
        import sqlite3
        with sqlite3.connect(str(work / "pbx.sqlite")) as db:  # one account edited behind the engine's back
            db.execute("UPDATE sb_accounts SET data = json_set(data, '$.owner', 'edited') WHERE number = "
                       "(SELECT MIN(number) FROM sb_accounts)")
        results.append(("drift, one account changed",) + timed_drift(env, work, 2))
        for name, seconds, line in results:  # the target is the no-op run's: a warm parse cache
            verdict = "" if "cold" in name else "  (target <= %.0f s: %s)" % (
                TARGET_SECONDS, "met" if seconds <= TARGET_SECONDS else "MISSED")
            print("%-28s %6.2f s%s  %s" % (name, seconds, verdict, line))
        size = (work / "reports" / "drift.json").stat().st_size
        print("drift.json: %.1f MB" % (size / 1e6))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100000))
