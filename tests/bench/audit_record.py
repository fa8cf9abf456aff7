"""What the audit trail costs an apply: audit.record's time (git provenance of the state dir, the plan file's sha256,
one INSERT) inside a real apply and a real no-op re-run at N accounts (default 100000), the state dir a git work tree.

    .venv/bin/python tests/bench/audit_record.py [N]"""

import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(REPO / "build"))
sys.path.insert(0, str(REPO / "tests" / "bench"))

from generate import generate  # noqa: E402
from ansible_collections.switchboard.pbx.plugins.module_utils import audit, engine  # noqa: E402


def timed_record(spent):
    real = audit.record

    def record(*args):
        started = time.monotonic()
        real(*args)
        spent.append(time.monotonic() - started)
    audit.record = record


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    base = pathlib.Path(tempfile.mkdtemp(prefix="switchboard-audit-bench-"))
    try:
        state = base / "state"
        passwords = generate(str(state), count)
        for command in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "bench"]):
            subprocess.run(["git", "-C", str(state), "-c", "user.name=Bench", "-c", "user.email=bench@example.org"]
                           + command, check=True)
        os.environ["XDG_CACHE_HOME"] = str(base / "cache")
        options = engine.Options(str(state), "sqlite:///%s" % (base / "pbx.sqlite"), "bench.example",
                                 passwords=passwords, report_dir=str(base / "reports"))
        spent = []
        timed_record(spent)
        for label in ("apply", "no-op re-run"):
            started = time.monotonic()
            result = engine.run(options)
            total = time.monotonic() - started
            plan_size = os.path.getsize(result["plan_file"]) / 1e6
            print("%d accounts, %-13s %7.2f s in all, audit.record %6.3f s (plan file %.1f MB)"
                  % (count, label + ":", total, spent[-1], plan_size), flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
