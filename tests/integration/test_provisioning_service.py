# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The provisioning service for real: uvicorn on a loopback port, a wizard account made by the engine, the
links an SMS would carry, and the real Kamailio accepting the credentials the activation handed out."""

from __future__ import annotations

import concurrent.futures
import hashlib
import os
import stat
import sys
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conftest import Playbook, db_rows, recap_changed, write_state  # noqa: E402
from support.kamailio import KamailioServer  # noqa: E402
from support.ports import free_port  # noqa: E402
from support.provisioning import ProvisioningService  # noqa: E402
from support.sip import sipsak_register  # noqa: E402
from ansible_collections.switchboard.pbx.plugins.module_utils import engine  # noqa: E402

DOMAIN = "127.0.0.1"  # sipsak addresses Kamailio by IP: the domain is the IP
PROXY = "127.0.0.1:5060"
NUMBER, USERNAME = "+393471234567", "70001"
PLAIN_NUMBER, PLAIN_USERNAME, PLAIN_PASSWORD = "+393471234568", "70002", "Plain-Pass-70002"
DOWNLOADS = {"ios": "https://apps.example.com/ios/pgsm", "android": "https://apps.example.com/android/pgsm",
             "other": "https://apps.example.com/pgsm"}
INSTALL_TOKEN = "install-token-0123456789abcdef"
ACTIVATE_TOKEN = "activate-token-0123456789abcdef"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36"
FUTURE, PAST = "2099-01-01 00:00:00", "2000-01-01 00:00:00"


def token_row(dsn, token, purpose, expires_at=FUTURE, used_at=None, account=NUMBER):
    """As the outbox's dispatcher stores a link: the SHA-256 of the clear token, never the token."""
    db_rows(dsn, "INSERT INTO sb_tokens (token_hash, account, purpose, message_id, expires_at, used_at) "
            "VALUES (?, ?, ?, ?, ?, ?)", (hashlib.sha256(token.encode()).hexdigest(), account, purpose,
                                          "393471234567.%s.1" % ("installation" if purpose == "install" else "activation"),
                                          expires_at, used_at))


@pytest.fixture
def wizard(tmp_path, pbx_dsn):
    state = write_state(tmp_path / "state", {"s.yml": {
        "provisioning_profiles": [{"name": "mobile-app", "base_url": "http://127.0.0.1:5080",
                                   "download_urls": DOWNLOADS}],
        "groups": [{"name": "mobile", "provisioning_profile": "mobile-app"}],
        "accounts": [{"number": NUMBER, "group": "mobile", "type": "pgsm", "activation": "wizard",
                      "username": USERNAME, "owner": "Marco Rossi", "keepalive": True},
                     {"number": PLAIN_NUMBER, "group": "mobile", "type": "pgsm", "username": PLAIN_USERNAME,
                      "password": PLAIN_PASSWORD, "security_model": "zrtp"}]}})
    engine.run(engine.Options(str(state), pbx_dsn, DOMAIN, report_dir=str(tmp_path / "reports")))
    return pbx_dsn


@pytest.fixture
def service(tmp_path, wizard):
    with ProvisioningService(wizard, DOMAIN, PROXY, tmp_path) as running:
        yield running


def status(dsn):
    return db_rows(dsn, "SELECT last_status FROM sb_accounts WHERE number = ?", (NUMBER,))[0][0]


def history(dsn):
    """The events after the account's creation (the engine records `created` when it makes the account)."""
    events = [row[0] for row in db_rows(dsn, "SELECT event FROM sb_history WHERE account = ? ORDER BY at, id", (NUMBER,))]
    assert events[:1] == ["created"]
    return events[1:]


def disabled(dsn):
    return db_rows(dsn, "SELECT count(*) FROM grp WHERE username = ? AND grp = 'disabled'", (USERNAME,))[0][0] == 1


def dump(dsn):
    """Every row of every table, as text: what a database dump would show."""
    if dsn.startswith("sqlite"):
        tables = [r[0] for r in db_rows(dsn, "SELECT name FROM sqlite_master WHERE type = 'table'")]
    else:
        tables = [r[0] for r in db_rows(dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    return "\n".join(repr(row) for table in tables for row in db_rows(dsn, "SELECT * FROM %s" % table))


def test_installation_link_records_installed_and_redirects_by_platform(service, wizard):
    token_row(wizard, INSTALL_TOKEN, "install")
    opened = httpx.get(service.base_url + "/i/" + INSTALL_TOKEN, headers={"User-Agent": IPHONE})
    assert (opened.status_code, opened.headers["location"]) == (302, DOWNLOADS["ios"])
    assert status(wizard) == "installed"
    assert history(wizard) == ["installed"]
    assert db_rows(wizard, "SELECT detail FROM sb_history WHERE event = 'installed'") == [("platform ios",)]

    again = httpx.get(service.base_url + "/i/" + INSTALL_TOKEN, headers={"User-Agent": ANDROID})
    assert (again.status_code, again.headers["location"]) == (302, DOWNLOADS["android"])
    assert history(wizard) == ["installed"]  # a second open (a preview, a re-download) records nothing
    assert httpx.get(service.base_url + "/i/" + ACTIVATE_TOKEN).status_code == 404
    assert "installation link opened for account %s (platform ios)" % NUMBER in service.log()
    assert INSTALL_TOKEN not in service.log()


def test_an_installation_link_opened_after_activation_keeps_the_status(service, wizard):
    db_rows(wizard, "UPDATE sb_accounts SET last_status = 'activated' WHERE number = ?", (NUMBER,))
    token_row(wizard, INSTALL_TOKEN, "install")
    opened = httpx.get(service.base_url + "/i/" + INSTALL_TOKEN, headers={"User-Agent": "curl/8.0"})
    assert (opened.status_code, opened.headers["location"]) == (302, DOWNLOADS["other"])
    assert (status(wizard), history(wizard)) == ("activated", ["installed"])


def test_activation_gives_credentials_once_and_kamailio_accepts_them(tmp_path, service, wizard):
    token_row(wizard, ACTIVATE_TOKEN, "activate")
    link = service.base_url + "/a/" + ACTIVATE_TOKEN
    with KamailioServer(wizard, tmp_path / "kamailio", sip_domain=DOMAIN) as kamailio:
        refused = sipsak_register(DOMAIN, kamailio.sip_port, USERNAME, "any-password", local_ip="127.0.0.2")
        assert refused.code in (401, 403), refused.output

        page = httpx.get(link)  # a messaging app's preview fetch
        assert (page.status_code, page.headers["content-type"]) == (200, "text/html; charset=utf-8")
        assert '<form method="post">' in page.text and ACTIVATE_TOKEN not in page.text
        assert (status(wizard), disabled(wizard)) == ("created", True)  # nothing consumed

        answer = httpx.post(link, json={"public_key": "ssh-ed25519 AAAAC3Nza client-key"})
        assert answer.status_code == 200, answer.text
        configuration = answer.json()
        password = configuration.pop("password")
        assert configuration == {"username": USERNAME, "domain": DOMAIN, "proxy": PROXY, "security_model": "sdes",
                                 "obfuscation": {"enabled": True, "key": "9"}, "keepalive": True}
        assert len(password) == 24 and answer.headers["cache-control"] == "no-store"
        ha1 = hashlib.md5(("%s:%s:%s" % (USERNAME, DOMAIN, password)).encode()).hexdigest()
        assert db_rows(wizard, "SELECT ha1 FROM subscriber WHERE username = ?", (USERNAME,)) == [(ha1,)]
        assert (status(wizard), disabled(wizard)) == ("activated", False)
        assert history(wizard) == ["activated", "key_uploaded"]
        assert db_rows(wizard, "SELECT public_key FROM sb_client_keys") == [("ssh-ed25519 AAAAC3Nza client-key",)]

        registered = sipsak_register(DOMAIN, kamailio.sip_port, USERNAME, password, local_ip="127.0.0.2")
        assert registered.code == 200, registered.output  # at once, no reload

        second = httpx.post(link)
        assert (second.status_code, second.text) == (
            410, "this link was already used or has expired: ask your administrator for a new one\n")
        assert httpx.get(link).status_code == 410
    assert password not in service.log() and ACTIVATE_TOKEN not in service.log()
    assert password not in dump(wizard) and ACTIVATE_TOKEN not in dump(wizard)
    assert "account %s activated (client key uploaded)" % NUMBER in service.log()


def test_the_next_reconcile_keeps_the_activated_account_enabled_with_its_password(tmp_path, service, wizard):
    token_row(wizard, ACTIVATE_TOKEN, "activate")
    answer = httpx.post(service.base_url + "/a/" + ACTIVATE_TOKEN)
    assert answer.status_code == 200, answer.text
    ha1 = db_rows(wizard, "SELECT ha1 FROM subscriber WHERE username = ?", (USERNAME,))
    result = engine.run(engine.Options(str(tmp_path / "state"), wizard, DOMAIN, report_dir=str(tmp_path / "reports")))
    assert result["changes"] == []
    assert db_rows(wizard, "SELECT ha1 FROM subscriber WHERE username = ?", (USERNAME,)) == ha1
    assert (status(wizard), disabled(wizard)) == ("activated", False)


def test_a_plain_account_keeps_its_declared_password(tmp_path, service, wizard):
    """The engine would write the declared password's HA1 back over a new one: the answer carries none."""
    token_row(wizard, ACTIVATE_TOKEN, "activate", account=PLAIN_NUMBER)
    ha1 = db_rows(wizard, "SELECT ha1 FROM subscriber WHERE username = ?", (PLAIN_USERNAME,))
    answer = httpx.post(service.base_url + "/a/" + ACTIVATE_TOKEN, data={"public_key": "plain-client-key"})
    assert answer.json() == {"username": PLAIN_USERNAME, "password": None, "domain": DOMAIN, "proxy": PROXY,
                             "security_model": "zrtp", "obfuscation": {"enabled": True, "key": "9"}, "keepalive": False}
    assert db_rows(wizard, "SELECT ha1 FROM subscriber WHERE username = ?", (PLAIN_USERNAME,)) == ha1
    assert db_rows(wizard, "SELECT last_status FROM sb_accounts WHERE number = ?", (PLAIN_NUMBER,)) == [("activated",)]
    assert db_rows(wizard, "SELECT account, public_key FROM sb_client_keys") == [(PLAIN_NUMBER, "plain-client-key")]


def test_expired_used_and_unknown_links_answer_no_data(service, wizard):
    token_row(wizard, "expired-token-0123456789abcdef", "activate", expires_at=PAST)
    token_row(wizard, "used-token-0123456789abcdef", "activate", used_at="2026-01-01 00:00:00")
    for token, code in (("expired-token-0123456789abcdef", 410), ("used-token-0123456789abcdef", 410),
                        ("unknown-token-0123456789abcdef", 404), ("short", 404)):
        for method in ("GET", "POST"):
            answer = httpx.request(method, service.base_url + "/a/" + token)
            assert answer.status_code == code, (token, method)
            assert "password" not in answer.text and USERNAME not in answer.text
    assert httpx.get(service.base_url + "/i/expired-token-0123456789abcdef").status_code == 404  # not an install link
    assert (status(wizard), disabled(wizard)) == ("created", True)
    assert db_rows(wizard, "SELECT count(*) FROM sb_client_keys") == [(0,)]


def test_a_bad_public_key_is_refused_before_anything_is_consumed(service, wizard):
    token_row(wizard, ACTIVATE_TOKEN, "activate")
    answer = httpx.post(service.base_url + "/a/" + ACTIVATE_TOKEN, json={"public_key": 42})
    assert (answer.status_code, answer.text) == (400, "public_key must be non-empty text of at most 16384 characters\n")
    form = httpx.post(service.base_url + "/a/" + ACTIVATE_TOKEN, data={"public_key": "form-key"})
    assert form.status_code == 200
    assert db_rows(wizard, "SELECT public_key FROM sb_client_keys") == [("form-key",)]


def test_delivery_reports_move_the_outbox_and_write_history(service, wizard):
    db_rows(wizard, "DELETE FROM sb_sms_outbox")  # the engine queued the installation SMS: here both were accepted
    for stage in ("installation", "activation"):
        db_rows(wizard, "INSERT INTO sb_sms_outbox (id, account, stage, generation, state, to_number, created_at, "
                "updated_at) VALUES (?, ?, ?, 1, 'accepted', ?, ?, ?)", ("393471234567.%s.1" % stage, NUMBER, stage,
                                                                         NUMBER, PAST, PAST))
    dlr = service.base_url + "/dlr"
    assert httpx.get(dlr, params={"id": "393471234567.installation.1", "status": "1"}).text == "delivered\n"
    assert httpx.get(dlr, params={"id": "393471234567.activation.1", "status": "16"}).text == "failed\n"
    assert httpx.get(dlr, params={"id": "393471234567.installation.1", "status": "8"}).text == "delivered\n"
    assert db_rows(wizard, "SELECT id, state, detail FROM sb_sms_outbox ORDER BY id") == [
        ("393471234567.activation.1", "failed", "message 393471234567.activation.1, delivery report 16"),
        ("393471234567.installation.1", "delivered", "message 393471234567.installation.1, delivery report 1")]
    assert sorted(history(wizard)) == ["activation_sms_failed", "installation_sms_delivered"]
    unknown = httpx.get(dlr, params={"id": "393471234567.activation.9", "status": "1"})
    assert (unknown.status_code, unknown.text) == (404, "unknown message\n")
    bad = httpx.get(dlr, params={"id": "393471234567.activation.1", "status": "3"})
    assert (bad.status_code, bad.text) == (400, "DLR status '3' is not one of Kannel's 1, 2, 4, 8, 16\n")


def test_two_activations_at_once_hand_out_one_configuration(service, wizard):
    """Two taps (or a retried request) racing: the write lock lets exactly one of them through."""
    token_row(wizard, ACTIVATE_TOKEN, "activate")
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _i: httpx.post(service.base_url + "/a/" + ACTIVATE_TOKEN, timeout=30), range(4)))
    assert sorted(answer.status_code for answer in answers) == [200, 410, 410, 410]
    password = next(answer.json()["password"] for answer in answers if answer.status_code == 200)
    ha1 = hashlib.md5(("%s:%s:%s" % (USERNAME, DOMAIN, password)).encode()).hexdigest()
    assert db_rows(wizard, "SELECT ha1 FROM subscriber WHERE username = ?", (USERNAME,)) == [(ha1,)]
    assert history(wizard) == ["activated"]


def test_delivery_reports_are_taken_from_the_allowed_addresses_only(service, wizard):
    db_rows(wizard, "DELETE FROM sb_sms_outbox")  # the engine queued the installation SMS: here it was accepted
    db_rows(wizard, "INSERT INTO sb_sms_outbox (id, account, stage, generation, state, to_number, created_at, "
            "updated_at) VALUES ('393471234567.installation.1', ?, 'installation', 1, 'accepted', ?, ?, ?)",
            (NUMBER, NUMBER, PAST, PAST))
    with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.2")) as elsewhere:
        forged = elsewhere.get(service.base_url + "/dlr", params={"id": "393471234567.installation.1", "status": "2"})
    assert (forged.status_code, forged.text) == (403, "forbidden\n")
    assert db_rows(wizard, "SELECT state FROM sb_sms_outbox") == [("accepted",)]
    assert "refused a delivery report from 127.0.0.2" in service.log()


def test_healthz_and_a_service_for_another_domain_refuses_to_start(tmp_path, service, wizard):
    answer = httpx.get(service.base_url + "/healthz")
    assert (answer.status_code, answer.text) == (200, "ok\n")
    other = ProvisioningService(wizard, "other.example.com", PROXY, tmp_path / "other")
    (tmp_path / "other").mkdir()
    with pytest.raises(RuntimeError, match="not starting: the PBX database belongs to the SIP domain '127.0.0.1', "
                                           "this run is for 'other.example.com'"):
        other.start(timeout=10)
    assert other.proc.returncode == 2


def test_a_service_without_its_database_refuses_to_start_and_creates_none(tmp_path):
    missing = tmp_path / "db" / "pbx.sqlite"
    service = ProvisioningService("sqlite://%s" % missing, DOMAIN, PROXY, tmp_path)
    with pytest.raises(RuntimeError, match="not starting: the PBX database sqlite://%s does not exist: run "
                                           "switchboard.pbx.platform first" % missing):
        service.start(timeout=10)
    assert service.proc.returncode == 2 and not missing.parent.exists()


def alive(pid):
    try:
        return Path("/proc/%d/stat" % pid).read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_role_runs_the_service_under_a_pid_file_and_stops_it_by_pid(tmp_path, pg_cluster):
    dsn = pg_cluster.new_database("provisioning_role")
    engine.run(engine.Options(str(write_state(tmp_path / "state", {"s.yml": {"groups": [{"name": "office"}]}})), dsn,
                              DOMAIN, report_dir=str(tmp_path / "reports")))
    book = Playbook(tmp_path, dsn)
    site = tmp_path / "provisioning.yml"
    site.write_text("- hosts: all\n  gather_facts: false\n  roles:\n    - role: switchboard.pbx.provisioning\n")
    listen = "127.0.0.1:%d" % free_port("127.0.0.1", ("tcp",))
    base = tmp_path / "service"
    role_vars = {"provisioning_dsn": dsn, "provisioning_sip_domain": DOMAIN, "provisioning_proxy": PROXY,
                 "provisioning_listen": listen, "provisioning_python": sys.executable,
                 "provisioning_env_file": str(base / "etc" / "provisioning.env"),
                 "provisioning_log_file": str(base / "log" / "provisioning.log"),
                 "provisioning_pid_file": str(base / "run" / "provisioning.pid")}
    pid_file = base / "run" / "provisioning.pid"
    try:
        assert recap_changed(book.run("--diff", playbook=str(site), extra_vars=role_vars)) > 0
        pid = int(pid_file.read_text())
        assert httpx.get("http://%s/healthz" % listen).text == "ok\n"
        assert stat.S_IMODE(os.stat(base / "etc" / "provisioning.env").st_mode) == 0o600
        assert dsn not in " ".join(Path("/proc/%d/cmdline" % pid).read_text().split("\0"))

        assert recap_changed(book.run(playbook=str(site), extra_vars=role_vars)) == 0
        assert int(pid_file.read_text()) == pid

        moved = dict(role_vars, provisioning_proxy="sip.example.com:5060")  # new settings: restarted
        assert recap_changed(book.run(playbook=str(site), extra_vars=moved)) > 0
        assert not alive(pid) and alive(int(pid_file.read_text()))
        pid = int(pid_file.read_text())
    finally:
        book.run(playbook=str(site), extra_vars=dict(role_vars, provisioning_state="stopped"))
    assert not pid_file.exists() and not alive(pid)
    password = urlparse(dsn).password
    for text in book.outputs + [(base / "log" / "provisioning.log").read_text()]:
        assert password not in text
