"""make bench-1m: the PostgreSQL moonshot of issue 10 (1M accounts: apply <= 5 min, no-op <= 60 s, peak <= 8 GiB),
with the curve over BENCH_1M_SIZES (default 10000 100000 1000000) printed so that its growth can be read.

Each size gets a fresh database in one throw-away PostgreSQL 15 cluster (tests/support/postgres.py: loopback,
stopped by its PID; fsync off, as in the tests). The state is make bench's (BENCH_SHAPE, carrier by default).
Rows: apply on an empty database, the no-op with the state unchanged since the last run, the no-op that must
compare everything (one file's bytes changed, nothing declared did) and the peak memory. Not run by CI: at 1M
it takes many minutes. Results: the tables here and build/bench/results-1m.json."""

import json
import os
import pathlib
import sys

from run import APPLY, NO_OP, NO_OP_FULL, PEAK, WORK, bench, print_table

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from support.postgres import PostgresCluster  # noqa: E402

MOONSHOT = 1000000
TARGETS = {APPLY: 300.0, NO_OP: 60.0, NO_OP_FULL: 60.0, PEAK: 8192}
ROWS = (APPLY, NO_OP, NO_OP_FULL)


def figure(results, label):
    return results[label]["peak_rss_mib"] if label == PEAK else results[label]["seconds"]


def print_curve(table):
    """Per row: the figure at each size, per 1k accounts, and how much it grew against how much the size did
    (1.0: linear)."""
    sizes = sorted(table)
    print("\nthe curve on PostgreSQL (growth: the figure's ratio to the previous size, over the sizes' ratio; 1.0 = linear)")
    print("  %-42s" % "run" + "".join("%14d" % n for n in sizes) + "   per 1k accounts at each size")
    for label in ROWS + (PEAK,):
        values = [figure(table[n], label) for n in sizes]
        growth = ["%.2f" % ((values[i] / values[i - 1]) / (sizes[i] / sizes[i - 1])) if values[i - 1] else "-"
                  for i in range(1, len(sizes))]
        per_k = ["%.3f" % (v * 1000.0 / n) for v, n in zip(values, sizes)]
        verdict = ""
        if MOONSHOT in table:
            met = figure(table[MOONSHOT], label) <= TARGETS[label]
            verdict = "  (1M target <= %g: %s)" % (TARGETS[label], "met" if met else "MISSED")
        print("  %-42s" % label + "".join("%14s" % ("%.2f" % v if label != PEAK else "%d MiB" % v) for v in values)
              + "   " + " ".join(per_k) + ("   growth " + " ".join(growth) if growth else "") + verdict)


def main():
    sizes = [int(n) for n in os.environ.get("BENCH_1M_SIZES", "10000 100000 1000000").split()]
    table = {}
    with PostgresCluster() as cluster:
        for count in sizes:
            dsn = cluster.new_database("bench_%d" % count)
            table[count] = bench(count, dsn, base=WORK / "1m" / str(count), complete=False, repeat=1)  # minutes each
            print_table(count, table[count], targets={})  # its 1M targets are in the curve below
    print_curve(table)
    (WORK / "results-1m.json").write_text(json.dumps(table, indent=2))


if __name__ == "__main__":
    main()
