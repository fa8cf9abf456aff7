# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7, the whole path with every real part: a wizard account declared and applied with ansible-playbook,
its installation SMS through a real Kannel to fakesmsc, the link opened by a phone, the activation SMS, the
configuration fetched, baresip registered at the real Kamailio with it, and platform_info telling the story."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import time

import httpx
import yaml

from conftest import Playbook, db_rows, recap_changed, write_state
from support.kamailio import KamailioServer
from support.ports import free_port
from support.provisioning import ProvisioningService
from support.sip import Baresip

DOMAIN = "127.0.0.1"  # baresip and Kamailio address each other by IP: the domain is the IP
NUMBER, USERNAME = "+393471234567", "70001"
DOWNLOADS = {"ios": "https://apps.example.com/ios/pgsm", "android": "https://apps.example.com/android/pgsm",
             "other": "https://apps.example.com/pgsm"}
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
TOKEN = r"([A-Za-z0-9_-]{43})"


def state(base_url, accounts=()):
    return {"provisioning_profiles": [{"name": "mobile-app", "base_url": base_url, "download_urls": DOWNLOADS}],
            "groups": [{"name": "mobile", "provisioning_profile": "mobile-app"}],
            "accounts": list(accounts)}


WIZARD = {"number": NUMBER, "group": "mobile", "type": "pgsm", "activation": "wizard", "username": USERNAME,
          "owner": "Marco Rossi"}


def platform_info(book, rpc_url):
    """switchboard.pbx.platform_info through ansible-playbook, its result as the module returned it."""
    result_file = book.tmp_path / "info.json"
    path = book.tmp_path / "info.yml"
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": [
        {"switchboard.pbx.platform_info": {"dsn": "{{ switchboard_pbx_dsn }}", "sip_domain": "{{ switchboard_sip_domain }}",
                                           "kinds": ["accounts"], "rpc_url": rpc_url}, "register": "info"},
        {"ansible.builtin.copy": {"content": "{{ info | to_json }}", "dest": str(result_file)}}]}], sort_keys=False))
    book.run(playbook=str(path), extra_vars={"switchboard_sip_domain": DOMAIN})
    return json.loads(result_file.read_text())


def wait_event(dsn, event, timeout=15.0):
    """Kannel's delivery reports come back on their own time: wait for the one a step depends on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if db_rows(dsn, "SELECT count(*) FROM sb_history WHERE account = ? AND event = ?", (NUMBER, event)) == [(1,)]:
            return
        time.sleep(0.05)
    raise AssertionError("no %s event within %.0f s" % (event, timeout))


def sqlite_dump(dsn):
    connection = sqlite3.connect(dsn[len("sqlite://"):])
    try:
        return "\n".join(connection.iterdump())
    finally:
        connection.close()


def test_wizard_account_from_declaration_to_a_registered_phone(tmp_path, sqlite_dsn, kannel):
    book = Playbook(tmp_path, sqlite_dsn)
    port = free_port("127.0.0.1", ("tcp",))
    base_url = "http://127.0.0.1:%d" % port
    settings = {"switchboard_sip_domain": DOMAIN, "switchboard_sms_gateway": kannel.gateway_url,
                "switchboard_sms_password": kannel.password}
    write_state(book.state_dir, {"s.yml": state(base_url)})
    book.run(extra_vars=settings)  # the platform exists before its first wizard account

    with KamailioServer(sqlite_dsn, tmp_path / "kamailio", sip_domain=DOMAIN) as kamailio, \
            ProvisioningService(sqlite_dsn, DOMAIN, "127.0.0.1:%d" % kamailio.sip_port, tmp_path, port=port) as service:
        settings["switchboard_pbx_rpc_url"] = kamailio.rpc_url
        before = len(kannel.received())

        # 1. declared and applied: exactly the installation SMS reaches the phone
        write_state(book.state_dir, {"s.yml": state(base_url, [WIZARD])})
        applied = book.run(extra_vars=settings)
        assert "sent installation SMS to +393471234567 (393471234567.installation.1)" in applied
        received = kannel.wait_received(before + 1)[before:]
        assert [sms.to for sms in received] == [NUMBER]
        install_link = re.fullmatch(r"Marco Rossi, your secure phone line \+393471234567: install the app from "
                                    r"(%s/i/%s)" % (re.escape(base_url), TOKEN), received[0].text)
        assert install_link, received[0].text
        wait_event(sqlite_dsn, "installation_sms_delivered")
        assert recap_changed(book.run(extra_vars=settings)) == 0  # a re-run sends nothing
        assert len(kannel.wait_received(before + 1)) == before + 1

        # 2. the phone opens the link: installed, sent to its platform's download
        opened = httpx.get(install_link.group(1), headers={"User-Agent": IPHONE})
        assert (opened.status_code, opened.headers["location"]) == (302, DOWNLOADS["ios"])

        # 3. the cheap playbook sends the activation SMS
        advanced = book.run(playbook="playbooks/activation.yml", extra_vars=settings)
        assert "sent activation SMS to +393471234567 (393471234567.activation.1)" in advanced
        received = kannel.wait_received(before + 2)[before:]
        assert [sms.to for sms in received] == [NUMBER, NUMBER]
        activation_link = re.fullmatch(r"Your secure phone line \+393471234567 is ready: open (%s/a/%s) on this phone "
                                       r"to activate it" % (re.escape(base_url), TOKEN), received[1].text)
        assert activation_link, received[1].text
        wait_event(sqlite_dsn, "activation_sms_delivered")
        assert recap_changed(book.run(playbook="playbooks/activation.yml", extra_vars=settings)) == 0

        # 4. a preview fetch consumes nothing; the client's POST gets the credentials, once
        page = httpx.get(activation_link.group(1))
        assert page.status_code == 200 and '<form method="post">' in page.text
        assert db_rows(sqlite_dsn, "SELECT count(*) FROM grp WHERE username = ? AND grp = 'disabled'", (USERNAME,)) == [(1,)]
        answer = httpx.post(activation_link.group(1))
        assert answer.status_code == 200, answer.text
        configuration = answer.json()
        password = configuration.pop("password")
        assert configuration == {"username": USERNAME, "domain": DOMAIN, "proxy": "127.0.0.1:%d" % kamailio.sip_port,
                                 "security_model": "sdes", "obfuscation": {"enabled": True, "key": "9"},
                                 "keepalive": False}
        assert httpx.post(activation_link.group(1)).status_code == 410
        assert db_rows(sqlite_dsn, "SELECT count(*) FROM grp WHERE username = ? AND grp = 'disabled'", (USERNAME,)) == [(0,)]

        # 5. the phone registers with what it fetched, at once; platform_info tells the whole story
        with Baresip(tmp_path / "phone", DOMAIN, kamailio.sip_port, USERNAME, password, local_ip="127.0.0.7") as phone:
            assert phone.wait_registered(10) == (200, "OK"), phone.log()[-2000:]
            info = platform_info(book, kamailio.rpc_url)
        status = info["account_status"][NUMBER]
        assert (status["last_status"], status["enabled"], status["connected"]) == ("activated", True, True)
        assert [r["source"] for r in status["registrations"]] == ["127.0.0.7:%d" % phone.local_port]
        assert [event["event"] for event in status["history"]] == [
            "created", "installation_sms_sent", "installation_sms_delivered", "installed", "activation_sms_sent",
            "activation_sms_delivered", "activated"]
        assert [event["detail"] for event in status["history"]][:4] == [
            None, "393471234567.installation.1: HTTP 202: 0: Accepted for delivery",
            "message 393471234567.installation.1, delivery report 1", "platform ios"]
        assert "warnings" not in info  # nothing failed, nothing waits for an action

        # The password lives only in the one answer; the links only in the SMS, which the phone (fakesmsc) logs.
        tokens = [install_link.group(2), activation_link.group(2)]
        ours = [service.log(), kamailio.log(), kannel.gateway_logs()]
        carrier = kannel.logs()
    everything = "\n".join(book.outputs + ours + [sqlite_dump(sqlite_dsn)] + [p.read_text() for p in book.report_dir.iterdir()])
    for secret in [password] + tokens:
        assert secret not in everything
    assert password not in carrier
    for sms in kannel.received()[before:]:
        assert password not in sms.text
    assert db_rows(sqlite_dsn, "SELECT ha1 FROM subscriber WHERE username = ?", (USERNAME,)) == [
        (hashlib.md5(("%s:%s:%s" % (USERNAME, DOMAIN, password)).encode()).hexdigest(),)]
