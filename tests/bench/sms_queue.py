"""make bench (SMS part): N new wizard accounts applied with their installation SMS queued in the apply's
transaction, against the same apply without the SMS (the queueing must cost under 10%); then those N queued
messages dispatched for real (outbox -> two commits per message -> a local Kannel, rate limit off), each
checked received exactly once at fakesmsc.

    .venv/bin/python tests/bench/sms_queue.py [N]      (default 10000)
"""

import collections
import os
import pathlib
import sys
import tempfile
import time

import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "build"), str(REPO / "tests")]

from ansible_collections.switchboard.pbx.plugins.module_utils import activation, engine  # noqa: E402
from support.kannel import KannelServer  # noqa: E402

DOMAIN = "bench.example"
QUEUEING_TARGET = 0.10  # the apply with the SMS queued may take at most 10% longer than without


def declare(state_dir, count):
    state_dir.mkdir(parents=True)
    (state_dir / "bench.yml").write_text(yaml.safe_dump({
        "provisioning_profiles": [{"name": "mobile", "base_url": "http://127.0.0.1:5080"}],
        "groups": [{"name": "mobile", "provisioning_profile": "mobile"}],
        "accounts": [{"number": "+39347%07d" % n, "group": "mobile", "type": "pgsm", "activation": "wizard",
                      "owner": "Mobile User %d" % n} for n in range(count)]}, sort_keys=False))


def timed_apply(work, name, with_sms):
    """A fresh database and a cold parse cache each time; `with_sms` False leaves the outbox out (nothing else)."""
    real_queue = activation.queue
    if not with_sms:
        activation.queue = lambda db, now, stage, numbers: []
    try:
        options = engine.Options(str(work / "state"), "sqlite:///%s" % (work / name / "pbx.sqlite"), DOMAIN,
                                 report_dir=str(work / name / "reports"), cache_dir=str(work / name / "cache"))
        started = time.monotonic()
        result = engine.run(options)
        return time.monotonic() - started, options, result
    finally:
        activation.queue = real_queue


def queueing_cost(work, count):
    """Best of two of each, alternated (two shared cores make single runs noisy). Returns (without, with, options)."""
    without, with_sms, options = [], [], None
    for attempt in range(2):
        seconds, _options, result = timed_apply(work, "plain-%d" % attempt, with_sms=False)
        assert (result["change_count"], result["sms"]["pending"]) == (count + 2, []), result["sms"]
        without.append(seconds)
        seconds, options, result = timed_apply(work, "sms-%d" % attempt, with_sms=True)
        assert result["sms"].get("pending_count", len(result["sms"]["pending"])) == count, result["sms"]
        with_sms.append(seconds)
    return min(without), min(with_sms), options


def dispatch(options, count):
    """The queued messages sent by the cheap playbook's code (engine.advance) to a real Kannel."""
    with tempfile.TemporaryDirectory(prefix="sms-queue-bench-") as kannel_dir, KannelServer(kannel_dir) as kannel:
        sending = engine.Options(None, options.dsn, DOMAIN, sms_gateway=kannel.gateway_url, sms_password=kannel.password,
                                 sms_rate=0)
        started = time.monotonic()
        result = engine.advance(sending)
        seconds = time.monotonic() - started
        received = collections.Counter(sms.to for sms in kannel.wait_received(count, timeout=120, settle=1.0))
    sent = len(result["sms"]["sent"])
    if sent != count or len(received) != count or max(received.values()) != 1:
        raise SystemExit("SMS bench: %d of %d sent, fakesmsc received %d numbers, at most %d times each"
                         % (sent, count, len(received), max(received.values(), default=0)))
    again = engine.advance(sending)
    if again["sms"]["sent"]:
        raise SystemExit("SMS bench: a second run sent %d messages again" % len(again["sms"]["sent"]))
    return seconds


def bench(count):
    """{label: figure} for the table of make bench."""
    with tempfile.TemporaryDirectory(prefix="sms-queue-bench-") as work:
        work = pathlib.Path(work)
        declare(work / "state", count)
        without, with_sms, options = queueing_cost(work, count)
        seconds = dispatch(options, count)
    overhead = with_sms / without - 1
    return {"apply without SMS (s)": round(without, 2), "apply with SMS queued (s)": round(with_sms, 2),
            "queueing overhead (%)": round(100 * overhead, 1), "queueing within 10%": overhead <= QUEUEING_TARGET,
            "dispatch to Kannel (s)": round(seconds, 2), "dispatch (messages/s)": round(count / seconds, 1)}


if __name__ == "__main__":
    os.environ.setdefault("XDG_CACHE_HOME", tempfile.mkdtemp(prefix="sms-queue-bench-cache-"))
    for label, figure in bench(int(sys.argv[1]) if len(sys.argv) > 1 else 10000).items():
        print("%-28s %s" % (label, figure))
