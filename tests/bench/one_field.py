"""The one-field change of issue 10 alone, end to end through ansible-playbook site.yml (run.py's steps):
apply on an empty database, a no-op, then one account's owner edited in one 10k-account file and applied.
Prints the seconds of that run, its phases and which run it was (result key ``run``: incremental, complete).

    .venv/bin/python tests/bench/one_field.py 30000 [100000 ...]
"""

import re
import sys

from run import WORK, Platform

RUN_KIND = re.compile(r'"(incremental run|nothing read)[^"]*"')


def one_field(count):
    platform = Platform(count, base=WORK / ("one-field-%d" % count))
    apply = platform.run()
    platform.as_if_sms_sent()
    platform.run()
    platform.edit_one_field()
    edited = platform.run()
    if '"updated 1 account",' not in edited["output"]:
        raise SystemExit("the one-field change did not update 1 account:\n" + edited["output"][-3000:])
    kind = RUN_KIND.search(edited["output"])
    print("%d accounts: apply %.2f s; one-field change %.2f s (%s), peak %d MiB" % (
        count, apply["seconds"], edited["seconds"], kind.group(1) if kind else "complete run", edited["peak_rss_mib"]))
    print("  phases: %s" % edited["timings"])
    sys.stdout.flush()


if __name__ == "__main__":
    for size in sys.argv[1:]:
        one_field(int(size))
