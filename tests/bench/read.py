"""The platform read alone (store.read_actual, what every complete run does before it plans) at carrier shape:
N accounts, N numbers and N/10 devices with channels, on SQLite and on PostgreSQL (a throw-away cluster,
tests/support/postgres.py). Each platform is applied once in-process (the apply is not what is timed; SQLite's
is kept under build/bench/read/N for the next run), then read BENCH_READ_REPEAT times (default 3), each in a fresh
process: wall and CPU seconds of read_actual (the best of the repeats), the memory the Actual keeps and the
process's peak. CPU seconds are the figure to compare on a shared machine.

    python tests/bench/read.py [N ...]       (default: 30000 100000)
"""

import json
import os
import pathlib
import shutil
import subprocess
import sys

from generate import generate

REPO = pathlib.Path(__file__).resolve().parents[2]
WORK = REPO / "build" / "bench" / "read"
DOMAIN = "bench.example"


def apply(count, dsn, base):
    """Applies the carrier-shaped state of ``count`` accounts to ``dsn`` (in-process: not what is timed)."""
    shutil.rmtree(base, ignore_errors=True)
    passwords = generate(str(base / "state"), count, count, count // 10)
    sys.path.insert(0, str(REPO / "build"))
    from ansible_collections.switchboard.pbx.plugins.module_utils import engine
    engine.run(engine.Options(str(base / "state"), dsn, DOMAIN, passwords=passwords,
                              report_dir=str(base / "reports"), cache_dir=str(base / "cache")))
    (base / "applied").write_text("")


def measure_here(dsn):
    """In a fresh process: one read_actual in a snapshot, as the engine reads."""
    import gc
    import time
    sys.path.insert(0, str(REPO / "build"))
    from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.database import Session
    from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.store import read_actual

    def resident_mib(field="VmRSS"):
        """From /proc: ru_maxrss would report the bench's own peak, inherited through fork and exec."""
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) // 1024 for line in status if line.startswith(field + ":"))
    with Session(dsn, DOMAIN) as pbx, pbx.reading() as db:
        before, wall, cpu = resident_mib(), time.perf_counter(), time.process_time()
        actual = read_actual(db, DOMAIN)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    gc.collect()
    print(json.dumps({"wall": wall, "cpu": cpu, "accounts": len(actual.objects["accounts"]),
                      "kept_mib": resident_mib() - before,
                      "peak_mib": resident_mib("VmHWM")}))


def measured(dsn, count, repeat):
    runs = []
    for _run in range(repeat):
        done = subprocess.run([sys.executable, __file__, "--measure", dsn], capture_output=True, text=True, check=True)
        runs.append(json.loads(done.stdout))
        if runs[-1]["accounts"] != count:
            raise SystemExit("the read found %d accounts, not %d" % (runs[-1]["accounts"], count))
    return {"wall": min(r["wall"] for r in runs), "cpu": min(r["cpu"] for r in runs),
            "kept_mib": min(r["kept_mib"] for r in runs), "peak_mib": min(r["peak_mib"] for r in runs)}


def show(engine, count, figures):
    print("read of %d carrier accounts on %-10s %6.2f s wall %6.2f s CPU   keeps %5d MiB, peak %5d MiB"
          % (count, engine, figures["wall"], figures["cpu"], figures["kept_mib"], figures["peak_mib"]))


def main(sizes):
    repeat = int(os.environ.get("BENCH_READ_REPEAT", "3"))
    for count in sizes:
        base = WORK / str(count)
        dsn = "sqlite:///%s" % (base / "pbx.sqlite")
        if not (base / "applied").exists():
            apply(count, dsn, base)
        show("SQLite", count, measured(dsn, count, repeat))
    sys.path.insert(0, str(REPO / "tests"))
    from support.postgres import PostgresCluster
    with PostgresCluster() as cluster:
        for count in sizes:
            dsn = cluster.new_database("bench_read_%d" % count)
            apply(count, dsn, WORK / "postgres" / str(count))
            show("PostgreSQL", count, measured(dsn, count, repeat))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--measure"]:
        measure_here(sys.argv[2])
    else:
        main([int(n) for n in sys.argv[1:]] or [30000, 100000])
