"""switchboard gather at N accounts (BENCH_GATHER_SIZE, default 100000; target <= 10 s): a generated state is
applied once (kept under build/bench/gather/N for the next run), then the real command gathers it; wall and CPU
seconds of the command are printed, and the gathered files are checked to hold every account."""

import os
import pathlib
import resource
import shutil
import subprocess
import sys
import time

from generate import generate

REPO = pathlib.Path(__file__).resolve().parents[2]
TARGET_SECONDS = 10.0
DOMAIN = "bench.example"


def platform(count):
    """The DSN of an applied platform of ``count`` accounts (applied in-process: the door is not what is timed)."""
    base = REPO / "build" / "bench" / "gather" / str(count)
    dsn = "sqlite:///%s" % (base / "pbx.sqlite")
    if not (base / "applied").exists():
        shutil.rmtree(base, ignore_errors=True)
        passwords = generate(str(base / "state"), count)
        sys.path.insert(0, str(REPO / "build"))
        from ansible_collections.switchboard.pbx.plugins.module_utils import engine
        engine.run(engine.Options(str(base / "state"), dsn, DOMAIN, passwords=passwords,
                                  report_dir=str(base / "reports"), cache_dir=str(base / "cache")))
        (base / "applied").write_text("")
    return base, dsn


def main():
    count = int(os.environ.get("BENCH_GATHER_SIZE", "100000"))
    base, dsn = platform(count)
    target = base / "gathered"
    shutil.rmtree(target, ignore_errors=True)
    entry = "import sys; sys.path.insert(0, %r); from switchboard_cli.main import main; main()" % str(REPO)
    started, cpu = time.monotonic(), resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-c", entry, "--dsn", dsn, "--sip-domain", DOMAIN, "gather", str(target)],
                          capture_output=True, text=True, check=False)
    seconds = time.monotonic() - started
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_seconds = used.ru_utime + used.ru_stime - cpu.ru_utime - cpu.ru_stime
    if done.returncode != 0 or "gathered %d accounts" % count not in done.stdout:
        raise SystemExit("gather failed:\n" + done.stdout + done.stderr)
    verdict = "met" if seconds <= TARGET_SECONDS else "MISSED"
    print("gather of %d accounts: %.2f s wall, %.2f s CPU (target <= %.0f s: %s)"
          % (count, seconds, cpu_seconds, TARGET_SECONDS, verdict))


if __name__ == "__main__":
    main()
