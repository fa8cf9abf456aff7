# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7: an account activated again (a re-sent activation link, or a new one after revoke_keys) gets a new
password, and the phones registered with the old one are dropped from the real Kamailio at once (ul.rm
through the provisioning service's RPC URL); the old password is refused, the new one registers."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from conftest import db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import account_actions, engine
from support.kamailio import KamailioServer
from support.ports import free_port
from support.provisioning import ProvisioningService
from support.sip import Baresip, sipsak_register

DOMAIN = "127.0.0.1"
NUMBER, USERNAME = "+393471234567", "70001"


def sms_links(directory, stage):
    """The links of the `stage` SMS the file gateway wrote, oldest first."""
    texts = [json.loads(path.read_text())["text"] for path in sorted(directory.glob("*.%s.*.json" % stage))]
    return [re.search(r"http://\S+/[ia]/[A-Za-z0-9_-]{43}", text).group(0) for text in texts]


def registered(kamailio):
    return sorted(c["source"] for c in kamailio.rpc.registered_contacts() if c["username"] == USERNAME)


@pytest.fixture
def platform(tmp_path, sqlite_dsn):
    """A wizard account through apply and its installation link, Kamailio, the service with Kamailio's RPC URL."""
    port = free_port("127.0.0.1", ("tcp",))
    state = {"provisioning_profiles": [{"name": "mobile", "base_url": "http://127.0.0.1:%d" % port}],
             "groups": [{"name": "field", "provisioning_profile": "mobile"}],
             "accounts": [{"number": NUMBER, "group": "field", "type": "pgsm", "activation": "wizard",
                           "username": USERNAME}]}
    options = engine.Options(str(write_state(tmp_path / "state", {"s.yml": state})), sqlite_dsn, DOMAIN,
                             report_dir=str(tmp_path / "reports"), sms_gateway="file://%s" % (tmp_path / "sms"))
    engine.run(options)
    with KamailioServer(sqlite_dsn, tmp_path / "kamailio", sip_domain=DOMAIN) as kamailio, \
            ProvisioningService(sqlite_dsn, DOMAIN, "127.0.0.1:%d" % kamailio.sip_port, tmp_path, port=port,
                                rpc_url=kamailio.rpc_url) as service:
        assert httpx.get(sms_links(tmp_path / "sms", "installation")[0]).status_code == 200  # installed
        engine.advance(options)
        yield options, kamailio, service


def activate(link):
    answer = httpx.post(link, json={"public_key": "client-key %s" % link[-6:]})
    assert answer.status_code == 200, answer.text
    return answer.json()["password"]


@pytest.mark.parametrize("revoked_first", [False, True], ids=["re_sent_link", "after_revoke_keys"])
def test_activating_again_drops_the_registrations_of_the_old_password(tmp_path, platform, revoked_first):
    options, kamailio, service = platform
    sms = tmp_path / "sms"
    old_password = activate(sms_links(sms, "activation")[0])
    with Baresip(tmp_path / "old-phone", DOMAIN, kamailio.sip_port, USERNAME, old_password, local_ip="127.0.0.8") as old:
        assert old.wait_registered(10) == (200, "OK"), old.log()[-2000:]
        assert registered(kamailio) == ["127.0.0.8:%d" % old.local_port]

        if revoked_first:  # without Kamailio's RPC URL: only the activation below can drop the registration
            account_actions.run(options, NUMBER, "revoke_keys", engine.now)
            assert registered(kamailio) == ["127.0.0.8:%d" % old.local_port]
        sent = account_actions.run(options, NUMBER, "send_activation_sms", engine.now)
        assert sent["sms"]["sent"] == ["393471234567.activation.2"]
        assert registered(kamailio) == ["127.0.0.8:%d" % old.local_port]  # the SMS alone changes nothing

        new_password = activate(sms_links(sms, "activation")[1])
        assert new_password != old_password
        assert registered(kamailio) == []  # dropped before the new client had its credentials
    refused = sipsak_register(DOMAIN, kamailio.sip_port, USERNAME, old_password, local_ip="127.0.0.9")
    assert refused.code in (401, 403), refused.output
    with Baresip(tmp_path / "new-phone", DOMAIN, kamailio.sip_port, USERNAME, new_password, local_ip="127.0.0.10") as new:
        assert new.wait_registered(10) == (200, "OK"), new.log()[-2000:]
        assert registered(kamailio) == ["127.0.0.10:%d" % new.local_port]
    assert db_rows(options.dsn, "SELECT public_key FROM sb_client_keys") == [
        ("client-key %s" % sms_links(sms, "activation")[1][-6:],)]
    events = [e for (e,) in db_rows(options.dsn, "SELECT event FROM sb_history WHERE account = ? ORDER BY id", (NUMBER,))]
    assert events[-3:] == ["activation_sms_sent", "activated", "key_uploaded"]
    assert old_password not in service.log() and new_password not in service.log()


def test_without_an_rpc_url_activating_again_still_works(tmp_path, sqlite_dsn):
    """The service without Kamailio's RPC URL (a lab without it): the new password is handed out all the same."""
    port = free_port("127.0.0.1", ("tcp",))
    state = {"provisioning_profiles": [{"name": "mobile", "base_url": "http://127.0.0.1:%d" % port}],
             "groups": [{"name": "field", "provisioning_profile": "mobile"}],
             "accounts": [{"number": NUMBER, "group": "field", "type": "pgsm", "username": USERNAME,
                           "activation": "wizard"}]}
    options = engine.Options(str(write_state(tmp_path / "state", {"s.yml": state})), sqlite_dsn, DOMAIN,
                             report_dir=str(tmp_path / "reports"), sms_gateway="file://%s" % (tmp_path / "sms"))
    engine.run(options)
    with ProvisioningService(sqlite_dsn, DOMAIN, "127.0.0.1:5060", tmp_path, port=port) as service:
        passwords = []
        for time in range(2):
            account_actions.run(options, NUMBER, "send_activation_sms", engine.now)
            passwords.append(activate(sms_links(tmp_path / "sms", "activation")[time]))
    assert len(set(passwords)) == 2
    assert "WARNING" not in service.log()
