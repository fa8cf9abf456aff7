# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7, Kannel's answers that fakesmsc cannot give, from a scripted stub gateway: a 503 is tried again
within the same run only (a bounded number of times, further and further apart), then left pending for the
next run; a failure delivery report, sent back to the real provisioning service, is `failed` in the history
and reported with the action that re-sends."""

from __future__ import annotations

import time

import httpx

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import dispatch, engine
from ansible_collections.switchboard.pbx.plugins.module_utils.sms.dlr import callback_url as dlr_callback_url
from ansible_collections.switchboard.pbx.plugins.module_utils.sms.kannel import KannelGateway
from support.http_stub import HttpStub
from support.ports import free_port
from support.provisioning import ProvisioningService

MARCO, LUCA = "+393471234567", "+393489876543"
STUB_PASSWORD = "Stub-Secret-pw"


def declare(tmp_path, base_url="http://127.0.0.1:5080", accounts=(MARCO, LUCA)):
    write_state(tmp_path / "state", {"s.yml": {
        "provisioning_profiles": [{"name": "mobile", "base_url": base_url}],
        "groups": [{"name": "field", "provisioning_profile": "mobile"}],
        "accounts": [{"number": n, "group": "field", "type": "pgsm", "activation": "wizard"} for n in accounts]}})


def apply(tmp_path, dsn, stub):
    return engine.run(engine.Options(str(tmp_path / "state"), dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"),
                                     sms_gateway="kannel://switchboard@127.0.0.1:%d?smsc=FAKE" % stub.port,
                                     sms_password=STUB_PASSWORD))


def outbox(dsn):
    return db_rows(dsn, "SELECT id, state FROM sb_sms_outbox ORDER BY id")


def test_a_503_is_tried_again_in_the_same_run_with_a_growing_pause(tmp_path, sqlite_dsn):
    declare(tmp_path)
    with HttpStub(["unavailable", "unavailable", "accepted"]) as stub:
        started = time.monotonic()
        result = apply(tmp_path, sqlite_dsn, stub)
        elapsed = time.monotonic() - started
        assert [r.query["to"] for r in stub.requests] == [MARCO, MARCO, MARCO, LUCA]
    assert elapsed >= dispatch.BACKOFF + 2 * dispatch.BACKOFF
    assert result["sms"]["sent"] == ["393471234567.installation.1", "393489876543.installation.1"]
    assert result["warnings"] == []
    assert outbox(sqlite_dsn) == [("393471234567.installation.1", "accepted"), ("393489876543.installation.1", "accepted")]
    # each attempt carried a link of its own; only the one Kannel took is alive
    assert len({r.query["text"] for r in stub.requests[:3]}) == 3
    assert db_rows(sqlite_dsn, "SELECT count(*) FROM sb_tokens WHERE account = ?", (MARCO,)) == [(1,)]
    assert db_rows(sqlite_dsn, "SELECT event, detail FROM sb_history WHERE account = ? ORDER BY id", (MARCO,)) == [
        ("created", None), ("installation_sms_sent", "393471234567.installation.1: HTTP 202: 0: Accepted for delivery")]


def test_a_503_that_lasts_leaves_everything_pending_and_the_next_run_sends(tmp_path, sqlite_dsn):
    declare(tmp_path)
    with HttpStub("unavailable") as busy:
        result = apply(tmp_path, sqlite_dsn, busy)
        assert len(busy.requests) == dispatch.ATTEMPTS  # the first message only: the gateway is busy for all
    assert result["changed"] is True and result["sms"]["pending"] == ["393471234567.installation.1",
                                                                      "393489876543.installation.1"]
    assert result["warnings"] == [
        "SMS gateway kannel://switchboard@127.0.0.1:%d?smsc=FAKE did not take SMS 393471234567.installation.1 in 3 "
        "attempts (HTTP 503: Temporal failure, try again later.): certainly not sent; 2 SMS stay pending and the next run "
        "sends them" % busy.port]
    assert outbox(sqlite_dsn) == [("393471234567.installation.1", "pending"), ("393489876543.installation.1", "pending")]
    assert db_rows(sqlite_dsn, "SELECT count(*) FROM sb_tokens") == [(0,)]
    assert [e for (e,) in db_rows(sqlite_dsn, "SELECT event FROM sb_history ORDER BY id")] == ["created", "created"]
    with HttpStub("accepted") as back:
        again = apply(tmp_path, sqlite_dsn, back)
        assert [r.query["to"] for r in back.requests] == [MARCO, LUCA]
    assert again["sms"]["sent"] == ["393471234567.installation.1", "393489876543.installation.1"]


def test_a_refusal_or_a_maybe_is_never_tried_again(tmp_path, sqlite_dsn):
    declare(tmp_path, accounts=(MARCO,))
    with HttpStub(["bad_gateway", "accepted"]) as stub:
        result = apply(tmp_path, sqlite_dsn, stub)
        assert len(stub.requests) == 1
    assert result["sms"]["unknown"] == ["393471234567.installation.1"]


def test_a_failure_delivery_report_is_failed_in_the_history_and_reported(tmp_path, sqlite_dsn):
    port = free_port("127.0.0.1", ("tcp",))
    declare(tmp_path, "http://127.0.0.1:%d" % port, accounts=())
    engine.run(engine.Options(str(tmp_path / "state"), sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))
    declare(tmp_path, "http://127.0.0.1:%d" % port, accounts=(MARCO,))
    with ProvisioningService(sqlite_dsn, SIP_DOMAIN, "127.0.0.1:5060", tmp_path, port=port), \
            HttpStub("accepted") as stub:
        assert apply(tmp_path, sqlite_dsn, stub)["sms"]["sent"] == ["393471234567.installation.1"]
        # The SMSC could not reach the phone: the gateway calls our dlr-url with Kannel's 2 ("not delivered")
        dlr_url = stub.requests[0].query["dlr-url"]
        assert dlr_url == "http://127.0.0.1:%d/dlr?id=393471234567.installation.1&status=%%d" % port
        report = httpx.get(dlr_url.replace("%d", "2"))
        assert (report.status_code, report.text) == (200, "failed\n")
    assert outbox(sqlite_dsn) == [("393471234567.installation.1", "failed")]
    found = engine.gathered(sqlite_dsn, SIP_DOMAIN, ["accounts"])
    assert [(e["event"], e["detail"]) for e in found["account_status"][MARCO]["history"]] == [
        ("created", None),
        ("installation_sms_sent", "393471234567.installation.1: HTTP 202: 0: Accepted for delivery"),
        ("installation_sms_failed", "message 393471234567.installation.1, delivery report 2")]
    assert found["warnings"] == [
        "installation SMS 393471234567.installation.1 to +393471234567 failed (message 393471234567.installation.1, "
        "delivery report 2): to send it again: switchboard.pbx.sip_account number=\"+393471234567\" "
        "action=send_installation_sms (or: ansible-playbook -i INVENTORY playbooks/sms.yml -e number=+393471234567 "
        "-e action=send_installation_sms)"]
    with HttpStub("accepted") as stub:  # not sent again by a later run
        again = apply(tmp_path, sqlite_dsn, stub)
        assert stub.requests == []
    assert again["sms"]["failed"] == ["393471234567.installation.1"]


def test_a_delivery_report_faster_than_the_recorded_answer_is_kept(tmp_path, sqlite_dsn, monkeypatch):
    """Kannel may report delivery before our process records its 202: the outbox keeps `delivered`."""
    port = free_port("127.0.0.1", ("tcp",))
    declare(tmp_path, "http://127.0.0.1:%d" % port, accounts=())
    engine.run(engine.Options(str(tmp_path / "state"), sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))
    declare(tmp_path, "http://127.0.0.1:%d" % port, accounts=(MARCO,))
    send = KannelGateway.send

    def send_then_report(self, message):
        outcome = send(self, message)
        assert httpx.get(dlr_callback_url(message.dlr_url, message.id).replace("%d", "1")).text == "delivered\n"
        return outcome
    monkeypatch.setattr(KannelGateway, "send", send_then_report)
    with ProvisioningService(sqlite_dsn, SIP_DOMAIN, "127.0.0.1:5060", tmp_path, port=port), \
            HttpStub("accepted") as stub:
        result = apply(tmp_path, sqlite_dsn, stub)
    assert result["sms"]["sent"] == ["393471234567.installation.1"]
    assert outbox(sqlite_dsn) == [("393471234567.installation.1", "delivered")]
    assert db_rows(sqlite_dsn, "SELECT event FROM sb_history WHERE account = ? ORDER BY id", (MARCO,)) == [
        ("created",), ("installation_sms_delivered",), ("installation_sms_sent",)]
    assert db_rows(sqlite_dsn, "SELECT last_status FROM sb_accounts") == [("installation_sms_sent",)]
