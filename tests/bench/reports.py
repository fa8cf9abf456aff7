"""Wall time of writing a 100k-object report in all four formats (target: <= 5 s in total).

    .venv/bin/python tests/bench/reports.py [COUNT]

Two shapes: a believable drift (80% in sync, the rest changed, missing or unmanaged) and the worst case, every
object changed (every row listed in the HTML and the JUnit, Markdown capped). Each object that differs carries a
full before/after account, as report.describe gives them; in-sync objects carry their address and where they are
declared, as the drift engine makes them. CPU time is printed too: on a shared machine the wall time
says more about the neighbours than about the code."""

import os
import pathlib
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "build"), str(REPO / "tests")]

from ansible_collections.switchboard.pbx.plugins.module_utils.reports import model, render  # noqa: E402
from support.report_samples import CONTEXT  # noqa: E402

SHAPES = {"drift (80% in sync)": ("in_sync",) * 8 + ("changed", "missing"), "worst (all changed)": ("changed",)}


def account(number, owner):
    return {"number": number, "group": "desks", "type": "snom", "username": "d" + number[-6:], "owner": owner,
            "password": "********", "restricted_networks": ["offices"], "email": "user@example.com",
            "acl": [{"deny": "0.0.0.0/0"}, {"permit": "10.1.2.0/24"}]}


def objects(count, statuses):
    built = []
    for n in range(count):
        number = "+390212%06d" % n
        status = statuses[n % len(statuses)]
        before, after = account(number, "Desk %d" % n), account(number, "Desk %d (moved)" % n)
        if status == "in_sync":
            built.append(model.entry("accounts/" + number, status, declared_at="accounts.yml: accounts[%d]" % n))
        elif status == "changed":
            built.append(model.entry("accounts/" + number, status, reason="fields_differ", fields=["owner"],
                                     before=before, after=after))
        else:
            built.append(model.entry("accounts/" + number, status, reason="declared_not_on_platform", after=after))
    return built


def main(count):
    for shape, statuses in SHAPES.items():
        built = model.build("drift", objects(count, statuses), CONTEXT)
        with tempfile.TemporaryDirectory() as directory:
            times = {}
            cpu = time.process_time()
            for fmt in render.SUFFIXES:
                started = time.perf_counter()
                [path] = render.write(built, [fmt], directory, "drift")
                times[fmt] = (time.perf_counter() - started, os.path.getsize(path))
            cpu = time.process_time() - cpu
        total = sum(seconds for seconds, _size in times.values())
        print("%d objects, %s: %.2f s wall, %.2f s CPU in all (%s)" % (count, shape, total, cpu, ", ".join(
            "%s %.2f s %.1f MB" % (fmt, seconds, size / 1e6) for fmt, (seconds, size) in times.items())))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100000)
