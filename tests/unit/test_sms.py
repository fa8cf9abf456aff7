# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SMS gateway layer's pure parts: the switchboard_sms_gateway URL, DLR statuses, message checks, pacing."""

from __future__ import annotations

import pytest

from ansible_collections.switchboard.pbx.plugins.module_utils.errors import SwitchboardError
from ansible_collections.switchboard.pbx.plugins.module_utils.sms import dlr
from ansible_collections.switchboard.pbx.plugins.module_utils.sms.config import (
    FileSettings, KannelSettings, open_gateway, parse_gateway, parse_rate)
from ansible_collections.switchboard.pbx.plugins.module_utils.sms.file import FileGateway
from ansible_collections.switchboard.pbx.plugins.module_utils.sms.gateway import Message, check_message
from ansible_collections.switchboard.pbx.plugins.module_utils.sms.kannel import KannelGateway
from ansible_collections.switchboard.pbx.plugins.module_utils.sms.rate import Pace

USE = " (use file:///ABSOLUTE/DIR or kannel://USER@HOST:PORT?smsc=ID)"


@pytest.mark.parametrize("value, settings", [
    ("file:///var/lib/switchboard/sms", FileSettings("/var/lib/switchboard/sms")),
    ("file:///var/lib/switchboard/sms/", FileSettings("/var/lib/switchboard/sms")),
    ("kannel://switchboard@127.0.0.1:13013?smsc=FAKE", KannelSettings("127.0.0.1", 13013, "switchboard", "FAKE")),
    ("kannel://sb@sms.example.net:13013?smsc=OP1&from=Acme", KannelSettings("sms.example.net", 13013, "sb", "OP1", "Acme")),
])
def test_gateway_urls(value, settings):
    assert parse_gateway(value) == settings


@pytest.mark.parametrize("value, message", [
    ("", "'': it is empty"),
    ("file://sms/outbox", "'file://sms/outbox': a file gateway has no host: three slashes, file:///ABSOLUTE/DIR"),
    ("file:sms/outbox", "'file:sms/outbox': the directory must be absolute"),
    ("file:///tmp/sms?x=1", "'file:///tmp/sms?x=1': a file gateway takes no options"),
    ("smpp://sb@127.0.0.1:2775", "'smpp://sb@127.0.0.1:2775': unknown gateway 'smpp'"),
    ("/var/sms", "'/var/sms': no gateway scheme"),
    ("kannel://127.0.0.1:13013?smsc=FAKE", "'kannel://127.0.0.1:13013?smsc=FAKE': Kannel needs USER@HOST:PORT"),
    ("kannel://sb@127.0.0.1?smsc=FAKE", "'kannel://sb@127.0.0.1?smsc=FAKE': Kannel needs USER@HOST:PORT"),
    ("kannel://sb@127.0.0.1:13013", "'kannel://sb@127.0.0.1:13013': give smsc=ID once"),
    ("kannel://sb@127.0.0.1:13013?smsc=A&smsc=B", "'kannel://sb@127.0.0.1:13013?smsc=A&smsc=B': give smsc=ID once"),
    ("kannel://sb@127.0.0.1:13013?smsc=A&dlr=1", "'kannel://sb@127.0.0.1:13013?smsc=A&dlr=1': unknown option dlr (known: smsc, from)"),
    ("kannel://sb@127.0.0.1:13013/cgi-bin/sendsms?smsc=A",
     "'kannel://sb@127.0.0.1:13013/cgi-bin/sendsms?smsc=A': Kannel takes no path: the sendsms URL is fixed"),
    ("kannel://sb@127.0.0.1:130130?smsc=A", "'kannel://sb@127.0.0.1:130130?smsc=A': not a URL (Port out of range 0-65535)"),
])
def test_bad_gateway_urls_say_what_is_wrong(value, message):
    with pytest.raises(SwitchboardError) as error:
        parse_gateway(value)
    assert str(error.value) == "switchboard_sms_gateway " + message + USE


def test_a_password_in_the_url_is_refused_and_not_repeated():
    with pytest.raises(SwitchboardError) as error:
        parse_gateway("kannel://sb:Hunter2-Secret@127.0.0.1:13013?smsc=FAKE")
    assert str(error.value) == ("switchboard_sms_gateway 'kannel://sb:********@127.0.0.1:13013?smsc=FAKE': "
                                "the password does not belong in the URL: give it from the vault" + USE)


def test_open_gateway_builds_the_named_gateway():
    file_gateway = open_gateway("file:///tmp/sms")
    assert isinstance(file_gateway, FileGateway) and file_gateway.describe() == "file:///tmp/sms"
    kannel = open_gateway("kannel://sb@127.0.0.1:13013?smsc=FAKE&from=Acme", password="pw", rate=5, timeout=3)
    assert isinstance(kannel, KannelGateway) and kannel.describe() == "kannel://sb@127.0.0.1:13013?smsc=FAKE"
    assert (kannel.sender, kannel.timeout, kannel._pace.interval) == ("Acme", 3, 0.2)


def test_kannel_without_a_password_is_refused():
    with pytest.raises(SwitchboardError) as error:
        open_gateway("kannel://sb@127.0.0.1:13013?smsc=FAKE")
    assert str(error.value) == ("switchboard_sms_gateway kannel://sb@127.0.0.1:13013?smsc=FAKE: "
                                "the Kannel sendsms password is missing (give it from the vault)")


@pytest.mark.parametrize("status, event", [(1, "delivered"), ("1", "delivered"), (2, "failed"), (16, "failed"),
                                           (4, "accepted"), ("8", "accepted")])
def test_dlr_status_to_event(status, event):
    assert dlr.event(status) == event


@pytest.mark.parametrize("status", [0, 3, 32, "x", None, ""])
def test_unknown_dlr_status_is_refused(status):
    with pytest.raises(ValueError) as error:
        dlr.event(status)
    assert str(error.value) == "DLR status %r is not one of Kannel's 1, 2, 4, 8, 16" % (status,)


def test_dlr_callback_url_carries_our_id_and_kannels_status():
    assert dlr.callback_url("https://prov.example/sms/dlr", "acct-9.activation.2") == \
        "https://prov.example/sms/dlr?id=acct-9.activation.2&status=%d"
    assert dlr.callback_url("https://prov.example/dlr?k=v", "m1") == "https://prov.example/dlr?k=v&id=m1&status=%d"


@pytest.mark.parametrize("field, value, error", [
    ("id", "has space", "SMS id 'has space': use 1-64 letters, digits, '.', '_' or '-'"),
    ("id", "50%off", "SMS id '50%off': use 1-64 letters, digits, '.', '_' or '-'"),
    ("to", "+39 347 1234567", "SMS m1: '+39 347 1234567' is not an E.164 number"),
    ("stage", "reminder", "SMS m1: stage 'reminder' is not one of installation, activation"),
    ("text", "", "SMS m1: empty text"),
])
def test_bad_messages_are_refused(field, value, error):
    fields = dict(id="m1", to="+393471234567", stage="installation", text="hi")
    fields[field] = value
    with pytest.raises(ValueError) as raised:
        check_message(Message(**fields))
    assert str(raised.value) == error


class FakeClock:
    def __init__(self):
        self.now = 100.0
        self.sleeps = []

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_pace_spaces_messages_by_the_rate():
    clock = FakeClock()
    pace = Pace(4, clock=clock.time, sleep=clock.sleep)
    for _message in range(3):
        pace.wait()
    clock.now += 1.0  # a pause longer than the interval: the next message goes at once
    pace.wait()
    assert clock.sleeps == [0.25, 0.25]


@pytest.mark.parametrize("rate", [None, 0])
def test_pace_without_a_rate_never_waits(rate):
    clock = FakeClock()
    pace = Pace(rate, clock=clock.time, sleep=clock.sleep)
    for _message in range(5):
        pace.wait()
    assert clock.sleeps == []


def test_negative_rate_is_refused():
    with pytest.raises(ValueError) as error:
        Pace(-1)
    assert str(error.value) == "SMS rate -1: messages per second must be 0 (no limit) or more"


@pytest.mark.parametrize("value, rate", [(None, None), ("", None), (0, None), ("0", None), (10, 10.0), ("2.5", 2.5)])
def test_sms_rate(value, rate):
    assert parse_rate(value) == rate


@pytest.mark.parametrize("value", [-1, "fast", "nan", "inf", True, [5]])
def test_bad_sms_rate_says_what_is_wrong(value):
    with pytest.raises(SwitchboardError) as error:
        parse_rate(value)
    assert str(error.value) == "switchboard_sms_rate %r: give messages per second, a number of 0 (no limit) or more" % (value,)
