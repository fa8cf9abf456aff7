# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7, exactly once under SIGKILL, counted where the phone is: a real Kannel with fakesmsc.

The apply runs in a forked process that is SIGKILLed (no cleanup, no finally) at each point the contract
names; as test_activation_outbox.py does, the kill point is reached by wrapping a function in the doomed
process only (production code has no test hook). Then the apply runs twice more. In every case fakesmsc got
at most one message per (account, stage), and every account's SMS is sent, pending or reported unknown."""

from __future__ import annotations

import collections
import multiprocessing
import os
import re
import signal
import time

import pytest

from conftest import db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import activation, engine
from ansible_collections.switchboard.pbx.plugins.module_utils.sms.kannel import KannelGateway

SIP_DOMAIN = "pbx.test.example"
BASE_URL = "http://127.0.0.1:5080"
LINK = re.compile(re.escape(BASE_URL) + r"/([ia])/[A-Za-z0-9_-]{43}")
STAGES = {"i": "installation", "a": "activation"}
BATCH = 1000


def numbers(prefix, count):
    return ["+39%s%06d" % (prefix, n) for n in range(count)]


def declare(tmp_path, accounts):
    write_state(tmp_path / "state", {"s.yml": {
        "provisioning_profiles": [{"name": "mobile", "base_url": BASE_URL}],
        "groups": [{"name": "field", "provisioning_profile": "mobile"}],
        "accounts": [{"number": n, "group": "field", "type": "pgsm", "activation": "wizard"} for n in accounts]}})


def apply(tmp_path, dsn, kannel, rate=None):
    return engine.run(engine.Options(str(tmp_path / "state"), dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"),
                                     sms_gateway=kannel.gateway_url, sms_password=kannel.password, sms_rate=rate))


def killed(target):
    """Runs target() in a forked process that must die of SIGKILL."""
    process = multiprocessing.get_context("fork").Process(target=target)
    process.start()
    process.join(120)
    assert process.exitcode == -signal.SIGKILL
    return process


def die():
    os.kill(os.getpid(), signal.SIGKILL)


def counted(kannel, before, expected):
    """{(to, stage): how many messages fakesmsc got} since `before`, once at least `expected` arrived."""
    received = kannel.wait_received(before + expected, timeout=60, settle=1.0)[before:]
    return collections.Counter((sms.to, STAGES[LINK.search(sms.text).group(1)]) for sms in received)


def states(dsn):
    return dict(((account, stage), state) for account, stage, state in
                db_rows(dsn, "SELECT account, stage, state FROM sb_sms_outbox"))


def assert_none_lost(dsn, accounts, results, got):
    """Every account's SMS is accepted (and arrived exactly once), or unknown and reported by both re-runs
    and platform_info with its re-send action (it arrived at most once), or still pending (it never arrived)."""
    found = states(dsn)
    told = engine.gathered(dsn, SIP_DOMAIN, ["accounts"])["warnings"]  # what platform_info shows
    assert sorted({key[0] for key in found}) == sorted(accounts)
    assert max(got.values()) == 1 and set(got) <= set(found)
    for (account, stage), state in found.items():
        message_id = activation.message_id(account, stage, 1)
        if state in ("accepted", "delivered"):
            assert got[(account, stage)] == 1, message_id
        elif state == "unknown":
            assert any(w.startswith("%s SMS %s to %s unknown (maybe sent" % (stage, message_id, account))
                       and w.endswith("action=send_%s_sms)" % stage) for w in told), told
            for result in results:
                assert message_id in result["sms"]["unknown"]
                assert any(w.startswith("%s SMS %s to %s may not have arrived" % (stage, message_id, account))
                           and 'action=send_%s_sms' % stage in w for w in result["warnings"])
        else:
            assert (state, got[(account, stage)]) == ("pending", 0), message_id
            assert all(message_id in result["sms"]["pending"] for result in results)


# -- a kill at each point of one message's way --------------------------------------------------------

def _before_commit(tmp_path, dsn, kannel):
    def child():
        queue = activation.queue_installations

        def queue_and_die(db, now, changes):
            queue(db, now, changes)  # queued in the apply's transaction, which never commits
            die()
        activation.queue_installations = queue_and_die
        apply(tmp_path, dsn, kannel)
    killed(child)


def _after_commit_before_request(tmp_path, dsn, kannel):
    def child():
        KannelGateway.send = lambda self, message: die()  # `sending` is committed; the request never leaves
        apply(tmp_path, dsn, kannel)
    killed(child)


def _after_request_before_marked(tmp_path, dsn, kannel):
    def child():
        send = KannelGateway.send

        def send_and_die(self, message):
            send(self, message)  # Kannel took it; its answer is never recorded
            die()
        KannelGateway.send = send_and_die
        apply(tmp_path, dsn, kannel)
    killed(child)


def account_count(dsn):
    """0 also when the killed first run left no schema (made in the same transaction) or no SQLite file."""
    if dsn.startswith("sqlite:") and not os.path.exists(dsn[len("sqlite://"):]):
        return 0
    try:
        return db_rows(dsn, "SELECT count(*) FROM sb_accounts")[0][0]
    except Exception as exc:  # sqlite3 and psycopg2 each have their own "no such table"
        assert "sb_accounts" in str(exc)
        return 0


@pytest.mark.parametrize("kill, prefix, arrived, first_state", [
    (_before_commit, "3471", 1, None),
    (_after_commit_before_request, "3472", 0, "sending"),
    (_after_request_before_marked, "3473", 1, "sending"),
], ids=["before_commit", "after_commit_before_request", "after_request_before_marked"])
def test_a_kill_at_each_point_never_sends_twice(tmp_path, pbx_dsn, kannel, kill, prefix, arrived, first_state):
    accounts = numbers(prefix, 3)
    declare(tmp_path, accounts)
    before = len(kannel.received())
    kill(tmp_path, pbx_dsn, kannel)
    if first_state is None:  # the transaction died with the process: no account, no message
        assert account_count(pbx_dsn) == 0
    else:
        assert states(pbx_dsn)[(accounts[0], "installation")] == first_state
    results = [apply(tmp_path, pbx_dsn, kannel) for _rerun in range(2)]
    got = counted(kannel, before, 3 if first_state is None else 2 + arrived)
    assert got == collections.Counter({(n, "installation"): 1 for n in (accounts if arrived else accounts[1:])})
    assert_none_lost(pbx_dsn, accounts, results, got)
    if first_state is None:
        assert results[0]["sms"]["sent"] == [activation.message_id(n, "installation", 1) for n in accounts]
        assert results[1]["sms"]["sent"] == []
    else:
        assert results[0]["sms"]["sent"] == [activation.message_id(n, "installation", 1) for n in accounts[1:]]
        assert results[0]["warnings"][0] == ("SMS %s was being sent when a run stopped: maybe sent, marked unknown"
                                             % activation.message_id(accounts[0], "installation", 1))
        assert results[1]["sms"]["sent"] == [] and results[1]["changed"] is False


def test_a_kill_during_the_activation_sms_never_sends_it_twice(tmp_path, sqlite_dsn, kannel):
    """The same for the second stage, sent by playbooks/activation.yml's run (engine.advance)."""
    accounts = numbers("3480", 2)
    declare(tmp_path, accounts)
    before = len(kannel.received())
    apply(tmp_path, sqlite_dsn, kannel)
    db_rows(sqlite_dsn, "UPDATE sb_accounts SET last_status = 'installed'")  # both phones opened the link

    def child():
        send = KannelGateway.send

        def send_and_die(self, message):
            send(self, message)
            die()
        KannelGateway.send = send_and_die
        engine.advance(engine.Options(None, sqlite_dsn, SIP_DOMAIN, sms_gateway=kannel.gateway_url,
                                      sms_password=kannel.password))
    killed(child)
    options = engine.Options(None, sqlite_dsn, SIP_DOMAIN, sms_gateway=kannel.gateway_url, sms_password=kannel.password)
    results = [engine.advance(options) for _rerun in range(2)]
    got = counted(kannel, before, 4)
    assert got == collections.Counter({(accounts[0], "installation"): 1, (accounts[1], "installation"): 1,
                                       (accounts[0], "activation"): 1, (accounts[1], "activation"): 1})
    assert states(sqlite_dsn)[(accounts[0], "activation")] == "unknown"
    assert results[0]["sms"]["sent"] == [activation.message_id(accounts[1], "activation", 1)]
    assert_none_lost(sqlite_dsn, accounts, results, got)


# -- a kill from outside, in the middle of a batch of 1k ------------------------------------------------

def test_a_kill_during_a_batch_of_1k_loses_none_and_sends_none_twice(tmp_path, sqlite_dsn, kannel):
    accounts = numbers("3490", BATCH)
    declare(tmp_path, accounts)
    before = len(kannel.received())
    process = multiprocessing.get_context("fork").Process(target=apply, args=(tmp_path, sqlite_dsn, kannel, 250))
    process.start()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.is_alive():
        if os.path.exists(sqlite_dsn[len("sqlite://"):]) and db_rows(
                sqlite_dsn, "SELECT count(*) FROM sb_sms_outbox WHERE state != 'pending'")[0][0] >= BATCH // 4:
            break
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.join(30)
    assert process.exitcode == -signal.SIGKILL, "the batch ended before the kill"
    midway = collections.Counter(states(sqlite_dsn).values())
    assert midway["pending"] > 0 and midway["accepted"] + midway["delivered"] >= BATCH // 4 - 1

    results = [apply(tmp_path, sqlite_dsn, kannel) for _rerun in range(2)]
    unknown = results[0]["sms"]["unknown"]
    assert len(unknown) <= 1  # at most the one message in flight when the kill came
    got = counted(kannel, before, BATCH - len(unknown))
    assert sum(got.values()) in (BATCH - 1, BATCH) if unknown else sum(got.values()) == BATCH
    assert_none_lost(sqlite_dsn, accounts, results, got)
    assert results[1]["sms"]["sent"] == [] and results[1]["changed"] is False


def test_a_kill_before_the_second_request_finds_the_first_answer_recorded(tmp_path, sqlite_dsn, kannel):
    """A message's answer is written in the commit that marks the next one `sending`: killed just before the
    second request, the first message is accepted (not unknown) and only the second one may need an action."""
    accounts = numbers("3474", 3)
    declare(tmp_path, accounts)
    before = len(kannel.received())

    def child():
        send, calls = KannelGateway.send, []

        def second_dies(self, message):
            calls.append(message.id)
            if len(calls) == 2:
                die()
            return send(self, message)
        KannelGateway.send = second_dies
        apply(tmp_path, sqlite_dsn, kannel)
    killed(child)
    first, second, third = (activation.message_id(n, "installation", 1) for n in accounts)
    assert db_rows(sqlite_dsn, "SELECT id, state FROM sb_sms_outbox ORDER BY id") == [
        (first, "accepted"), (second, "sending"), (third, "pending")]
    results = [apply(tmp_path, sqlite_dsn, kannel) for _rerun in range(2)]
    got = counted(kannel, before, 2)
    assert got == collections.Counter({(accounts[0], "installation"): 1, (accounts[2], "installation"): 1})
    assert results[0]["sms"]["unknown"] == [second] and results[0]["sms"]["sent"] == [third]
    assert_none_lost(sqlite_dsn, accounts, results, got)
