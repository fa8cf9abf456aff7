"""SMS dispatch throughput: messages per second through the kannel gateway to a local Kannel
(bearerbox + smsbox from roles/sms_gateway, fakesmsc as the phone side), rate limit off.

    .venv/bin/python tests/bench/sms_dispatch.py [COUNT]      (default 2000)

Counts only messages Kannel answered 202 for, and checks that fakesmsc received each exactly once.
"""

import pathlib
import sys
import tempfile
import time
from collections import Counter

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO / "build"), str(REPO / "tests")]

from ansible_collections.switchboard.pbx.plugins.module_utils.sms.config import open_gateway  # noqa: E402
from ansible_collections.switchboard.pbx.plugins.module_utils.sms.gateway import Message  # noqa: E402
from support.kannel import KannelServer  # noqa: E402


def dispatch(count):
    """Returns messages per second."""
    with tempfile.TemporaryDirectory(prefix="sms-bench-") as workdir, KannelServer(workdir) as kannel:
        messages = [Message("bench-%d" % n, "+3934%08d" % n, "installation", "https://prov.example/i/%06d" % n)
                    for n in range(count)]
        with open_gateway(kannel.gateway_url, password=kannel.password, rate=0) as gateway:
            started = time.monotonic()
            outcomes = Counter(gateway.send(message).status for message in messages)
            seconds = time.monotonic() - started
        received = Counter(sms.to for sms in kannel.wait_received(count, timeout=60, settle=1.0))
    duplicates = sum(1 for times in received.values() if times > 1)
    print("%d messages in %.2f s: %.0f messages/s (outcomes %s; fakesmsc received %d, %d twice)"
          % (count, seconds, count / seconds, dict(outcomes), sum(received.values()), duplicates))
    if outcomes != Counter(accepted=count) or len(received) != count or duplicates:
        raise SystemExit("dispatch bench: not every message was accepted and received exactly once")
    return count / seconds


if __name__ == "__main__":
    dispatch(int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
