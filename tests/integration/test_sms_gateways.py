# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SMS gateways for real: the `file` gateway on disk and the `kannel` gateway against a real
Kannel (bearerbox + smsbox, the role's config) whose fake SMSC link delivers to Kannel's fakesmsc.
The behaviour tests run on both gateways; Kannel's failure answers come from a scripted HTTP stub
where the real Kannel cannot be made to give them."""

from __future__ import annotations

import itertools
import json
import os
import stat
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ansible_collections.switchboard.pbx.plugins.module_utils.sms import dlr  # noqa: E402
from ansible_collections.switchboard.pbx.plugins.module_utils.sms.config import open_gateway  # noqa: E402
from ansible_collections.switchboard.pbx.plugins.module_utils.sms.gateway import Message  # noqa: E402
from support import kannel as kannel_support  # noqa: E402
from support.http_stub import HttpStub  # noqa: E402
from support.ports import free_port  # noqa: E402

PHONE = "+393471234567"
STUB_PASSWORD = "Stub-Secret/&?=+ pw"  # characters that URL-encoding changes
_ids = itertools.count(1)


def message(text="Install Switchboard: https://prov.example/i/abc", to=PHONE, stage="installation", dlr_url=None):
    return Message(id="sms-%d" % next(_ids), to=to, stage=stage, text=text, dlr_url=dlr_url)


class FileTarget:
    """The file gateway and what it wrote."""

    def __init__(self, directory):
        self.url = "file://%s" % directory
        self.directory = directory
        self.password = None

    def delivered(self, expected=0):  # written before send() returned: nothing to wait for
        if not self.directory.exists():
            return []
        documents = [json.loads(path.read_text()) for path in sorted(self.directory.iterdir())]
        return [(document["to"], document["text"]) for document in documents]


class KannelTarget:
    """The Kannel gateway and what fakesmsc received since this test began."""

    def __init__(self, server):
        self.url = server.gateway_url
        self.password = server.password
        self.server = server
        self.before = len(server.received())

    def delivered(self, expected=0):
        received = self.server.wait_received(self.before + expected)[self.before:]
        return [(sms.to, sms.text) for sms in received]


@pytest.fixture(params=["file", "kannel"])
def target(request, tmp_path):
    if request.param == "file":
        return FileTarget(tmp_path / "sms")
    return KannelTarget(request.getfixturevalue("kannel"))


# -- the same behaviour on every gateway -------------------------------------------------------

def test_one_message_is_delivered_exactly_once(target):
    sms = message(text="Installa Switchboard: https://prov.example/i/Tok3n-1")
    with open_gateway(target.url, password=target.password) as gateway:
        outcome = gateway.send(sms)
    assert outcome.status == "accepted", outcome
    assert target.delivered(1) == [(PHONE, "Installa Switchboard: https://prov.example/i/Tok3n-1")]


def test_accents_and_symbols_arrive_as_written(target):
    with open_gateway(target.url, password=target.password) as gateway:
        assert gateway.send(message(text="Attivazione è pronta: 5 €")).status == "accepted"
    assert target.delivered(1) == [(PHONE, "Attivazione è pronta: 5 €")]


def test_messages_to_several_phones_each_arrive_once(target):
    phones = ["+39347000000%d" % n for n in range(5)]
    with open_gateway(target.url, password=target.password) as gateway:
        outcomes = [gateway.send(message(to=phone, text="link for %s" % phone)) for phone in phones]
    assert {outcome.status for outcome in outcomes} == {"accepted"}
    assert sorted(target.delivered(5)) == [(phone, "link for %s" % phone) for phone in phones]


def test_rate_limit_spaces_the_messages(target):
    count, rate = 6, 10.0
    with open_gateway(target.url, password=target.password, rate=rate) as gateway:
        started = time.monotonic()
        outcomes = [gateway.send(message(text="paced %d" % n)) for n in range(count)]
        elapsed = time.monotonic() - started
    assert {outcome.status for outcome in outcomes} == {"accepted"}
    assert elapsed >= (count - 1) / rate
    assert len(target.delivered(count)) == count


def test_a_bad_message_is_refused_before_anything_is_sent(target):
    with open_gateway(target.url, password=target.password) as gateway:
        with pytest.raises(ValueError, match=r"^SMS sms-\d+: '3471234567' is not an E.164 number$"):
            gateway.send(message(to="3471234567"))
        with pytest.raises(ValueError, match=r"^SMS sms-\d+: stage 'welcome' is not one of installation, activation$"):
            gateway.send(message(stage="welcome"))
    assert target.delivered(0) == []


# -- the file gateway ------------------------------------------------------------------------

def test_file_gateway_writes_one_private_json_file_per_message(tmp_path):
    directory = tmp_path / "outbox" / "sms"
    sms = Message(id="acct-7.installation.1", to=PHONE, stage="activation", text="Attiva: https://prov.example/a/x",
                  dlr_url="http://127.0.0.1:5080/sms/dlr")
    with open_gateway("file://%s" % directory) as gateway:
        outcome = gateway.send(sms)
    path = directory / "acct-7.installation.1.json"
    assert outcome.status == "accepted" and outcome.reason == "written to %s" % path
    assert os.listdir(directory) == ["acct-7.installation.1.json"]  # no temp file left behind
    document = json.loads(path.read_text())
    assert {key: document[key] for key in ("id", "to", "stage", "text", "dlr_url")} == {
        "id": "acct-7.installation.1", "to": PHONE, "stage": "activation", "text": "Attiva: https://prov.example/a/x",
        "dlr_url": "http://127.0.0.1:5080/sms/dlr?id=acct-7.installation.1&status=%d"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_file_gateway_writes_the_same_id_only_once(tmp_path):
    sms = message(text="first text")
    with open_gateway("file://%s" % tmp_path) as gateway:
        first = gateway.send(sms)
        path = tmp_path / (sms.id + ".json")
        written = path.stat()
        again = gateway.send(Message(sms.id, sms.to, sms.stage, "a different text"))
    assert first.status == again.status == "accepted"
    assert again.reason == "already written to %s" % path
    assert os.listdir(tmp_path) == [sms.id + ".json"]
    assert json.loads(path.read_text())["text"] == "first text"
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == (written.st_mtime_ns, written.st_ino)


def test_file_gateway_that_cannot_write_has_not_sent(tmp_path):
    (tmp_path / "plain-file").write_text("")
    directory = tmp_path / "plain-file" / "sms"
    with open_gateway("file://%s" % directory) as gateway:
        sms = message()
        outcome = gateway.send(sms)
    assert outcome.status == "retry_later" and outcome.not_sent
    assert outcome.reason == "cannot write %s/%s.json: Not a directory" % (directory, sms.id)


# -- the real Kannel -----------------------------------------------------------------------

def test_kannel_accepts_with_its_documented_answer(kannel):
    before = len(kannel.received())
    with open_gateway(kannel.gateway_url, password=kannel.password) as gateway:
        outcome = gateway.send(message(text="accepted and delivered"))
    assert (outcome.status, outcome.reason) == ("accepted", "HTTP 202: 0: Accepted for delivery")
    # waited for here, so that no later test counts it as its own
    assert [sms.text for sms in kannel.wait_received(before + 1)[before:]] == ["accepted and delivered"]


def test_kannel_sender_from_the_url_or_kannels_global_sender(kannel):
    before = len(kannel.received())
    with open_gateway(kannel.gateway_url + "&from=AcmePBX", password=kannel.password) as gateway:
        assert gateway.send(message(text="from Acme")).status == "accepted"
    with open_gateway(kannel.gateway_url, password=kannel.password) as gateway:
        assert gateway.send(message(text="from the default")).status == "accepted"
    received = kannel.wait_received(before + 2)[before:]
    assert sorted((sms.sender, sms.text) for sms in received) == [("AcmePBX", "from Acme"), ("Switchboard", "from the default")]


def test_kannel_refuses_an_unknown_smsc_for_good(kannel):
    before = len(kannel.received())
    with open_gateway(kannel.gateway_url.replace("smsc=FAKE", "smsc=NOWHERE"), password=kannel.password) as gateway:
        outcome = gateway.send(message())
    assert (outcome.status, outcome.reason) == ("failed", "HTTP 403: Not routable. Do not try again.")
    assert kannel.wait_received(before)[before:] == []


def test_kannel_wrong_password_fails_and_is_never_shown(kannel):
    wrong = "Wrong-Pass-123"
    with open_gateway(kannel.gateway_url, password=wrong) as gateway:
        outcome = gateway.send(message())
    assert (outcome.status, outcome.reason) == ("failed", "HTTP 403: Authorization failed for sendsms")


def test_kannel_down_means_not_sent_and_the_next_attempt_sends(kannel):
    sms = message(text="sent once Kannel is back")
    before = len(kannel.received())
    kannel.stop_smsbox()
    try:
        with open_gateway(kannel.gateway_url, password=kannel.password) as gateway:
            outcome = gateway.send(sms)
    finally:
        kannel.start_smsbox()
    assert (outcome.status, outcome.not_sent) == ("retry_later", True)
    assert outcome.reason == "not sent: cannot connect to 127.0.0.1:%d: Connection refused" % kannel.sendsms_port
    with open_gateway(kannel.gateway_url, password=kannel.password) as gateway:
        assert gateway.send(sms).status == "accepted"
    assert [(r.to, r.text) for r in kannel.wait_received(before + 1)[before:]] == [(PHONE, "sent once Kannel is back")]


def test_kannel_delivery_reports_reach_our_listener_with_our_id(kannel):
    with HttpStub("ok") as listener:
        sms = message(dlr_url=listener.url + "/sms/dlr")
        with open_gateway(kannel.gateway_url, password=kannel.password) as gateway:
            assert gateway.send(sms).status == "accepted"
        deadline = time.monotonic() + 10
        while len(listener.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    # fakesmsc's link reports "accepted by the SMSC" (8), then "delivered" (1); never a failure
    reports = sorted((request.path, request.query["id"], request.query["status"]) for request in listener.requests)
    assert reports == [("/sms/dlr", sms.id, "1"), ("/sms/dlr", sms.id, "8")]
    assert sorted(dlr.event(status) for _path, _id, status in reports) == ["accepted", "delivered"]


def test_kannel_queue_and_reports_survive_a_bearerbox_restart(tmp_path):
    """The SMSC link is away: Kannel queues (3), keeps the message in its spool across a bearerbox
    restart, delivers it once the link is back, and the delivery reports still carry our id."""
    server = kannel_support.KannelServer(tmp_path / "kannel")
    server.render()
    try:
        server.start_bearerbox()
        server.start_smsbox()
        with HttpStub("ok") as listener:
            sms = message(text="queued across a restart", dlr_url=listener.url + "/sms/dlr")
            with open_gateway(server.gateway_url, password=server.password) as gateway:
                outcome = gateway.send(sms)
            assert (outcome.status, outcome.reason) == ("accepted", "HTTP 202: 3: Queued for later delivery")
            server.stop_smsbox()
            server.stop_bearerbox()
            server.start_bearerbox()
            server.start_fakesmsc()
            server.start_smsbox()
            assert [(r.to, r.text) for r in server.wait_received(1)] == [(PHONE, "queued across a restart")]
            deadline = time.monotonic() + 10
            while len(listener.requests) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert sorted((r.query["id"], r.query["status"]) for r in listener.requests) == [(sms.id, "1"), (sms.id, "8")]
    finally:
        server.stop()


# -- Kannel's other answers, from a stub ---------------------------------------------------------

def stub_gateway(stub, timeout=2.0):
    return open_gateway("kannel://switchboard@127.0.0.1:%d?smsc=FAKE" % stub.port, password=STUB_PASSWORD,
                        timeout=timeout)


@pytest.mark.parametrize("mode, status, reason", [
    ("queued", "accepted", "HTTP 202: 3: Queued for later delivery"),
    ("not_routable", "failed", "HTTP 403: Not routable. Do not try again."),
    ("bad_request", "failed", "HTTP 400: Sender missing and no global set, rejected"),
    ("sending_failed", "failed", "HTTP 500: Sending failed."),
    ("unavailable", "retry_later", "HTTP 503: Temporal failure, try again later."),
    ("bad_gateway", "unknown", "HTTP 502: Bad Gateway"),
])
def test_kannel_answers_are_classified(mode, status, reason):
    with HttpStub(mode) as stub, stub_gateway(stub) as gateway:
        outcome = gateway.send(message())
    assert (outcome.status, outcome.reason) == (status, reason)
    assert len(stub.requests) == 1  # the gateway itself never repeats a request


def test_kannel_request_carries_what_kannel_needs():
    sms = message(text="Attiva: https://prov.example/a/T0k", dlr_url="https://prov.example/sms/dlr")
    with HttpStub("accepted") as stub, stub_gateway(stub) as gateway:
        gateway.send(sms)
    (request,) = stub.requests
    assert request.path == "/cgi-bin/sendsms"
    assert request.query == {"username": "switchboard", "password": STUB_PASSWORD, "smsc": "FAKE", "to": PHONE,
                             "text": "Attiva: https://prov.example/a/T0k", "charset": "UTF-8", "dlr-mask": "31",
                             "dlr-url": "https://prov.example/sms/dlr?id=%s&status=%%d" % sms.id}


def test_kannel_no_answer_is_unknown_after_the_timeout():
    with HttpStub("hang") as stub, stub_gateway(stub, timeout=0.5) as gateway:
        started = time.monotonic()
        outcome = gateway.send(message())
        elapsed = time.monotonic() - started
    assert (outcome.status, outcome.not_sent) == ("unknown", False)
    assert outcome.reason == "maybe sent: no answer from 127.0.0.1:%d within 0.5 s" % stub.port
    assert 0.5 <= elapsed < 2.0


def test_kannel_connection_dropped_after_the_request_is_unknown():
    with HttpStub("drop") as stub, stub_gateway(stub) as gateway:
        outcome = gateway.send(message())
    assert outcome.status == "unknown"
    assert outcome.reason == ("maybe sent: connection to 127.0.0.1:%d lost after the request: "
                              "Remote end closed connection without response" % stub.port)


def test_kannel_unreachable_is_not_sent():
    port = free_port("127.0.0.1", ("tcp",))
    with open_gateway("kannel://switchboard@127.0.0.1:%d?smsc=FAKE" % port, password=STUB_PASSWORD) as gateway:
        outcome = gateway.send(message())
    assert (outcome.status, outcome.not_sent) == ("retry_later", True)
    assert outcome.reason == "not sent: cannot connect to 127.0.0.1:%d: Connection refused" % port


def test_kannel_reuses_one_connection():
    with HttpStub("accepted") as stub, stub_gateway(stub) as gateway:
        outcomes = [gateway.send(message()) for _send in range(5)]
    assert [outcome.status for outcome in outcomes] == ["accepted"] * 5
    assert (len(stub.requests), stub.connections) == (5, 1)


def test_kannel_connection_closed_while_idle_is_reopened_not_lost():
    with HttpStub("close_idle") as stub, stub_gateway(stub) as gateway:
        first = gateway.send(message())
        deadline = time.monotonic() + 5
        while not stub.closed_connections and time.monotonic() < deadline:  # the server closes the idle connection
            time.sleep(0.01)
        second = gateway.send(message())
    assert (first.status, second.status) == ("accepted", "accepted")
    assert (len(stub.requests), stub.connections) == (2, 2)


def test_kannel_password_never_in_an_outcome_even_when_the_gateway_echoes_it():
    with HttpStub("echo") as stub, stub_gateway(stub) as gateway:
        outcome = gateway.send(message())
    assert outcome.status == "failed"
    assert outcome.reason.startswith("HTTP 403: Authorization failed for GET /cgi-bin/sendsms?username=switchboard"
                                     "&password=********&smsc=FAKE")
    assert "Stub" not in outcome.reason and "Secret" not in outcome.reason
