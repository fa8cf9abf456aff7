# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 7, the engine side: the installation SMS is queued in the apply's own transaction and sent after
the commit exactly once, through the real gateways (the file gateway, a real Kannel with fakesmsc, a
scripted stub for the answers Kannel cannot be made to give); nothing is ever re-sent by itself."""

from __future__ import annotations

import dataclasses
import json
import multiprocessing
import os
import re
import sqlite3

import pytest
import yaml

from conftest import SIP_DOMAIN, db_rows, recap_changed, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import account_actions, engine
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState
from ansible_collections.switchboard.pbx.plugins.module_utils.sms.file import FileGateway
from support.http_stub import HttpStub
from support.ports import free_port

BASE_URL = "http://127.0.0.1:5080"
MARCO, LUCA, GIULIO = "+393471234567", "+393489876543", "+393351112233"
STATE = {
    "provisioning_profiles": [{"name": "mobile", "base_url": BASE_URL, "token_lifetime_days": 3,
                               "templates": {"activation": "Attiva {{ number }}: {{ link }}"}}],
    "groups": [{"name": "field", "provisioning_profile": "mobile"}],
    "accounts": [
        {"number": MARCO, "group": "field", "type": "pgsm", "activation": "wizard", "owner": "Marco Rossi"},
        {"number": LUCA, "group": "field", "type": "pgsm", "activation": "wizard"},
        {"number": GIULIO, "group": "field", "type": "pgsm", "username": "5003"},
    ],
}
LINK = re.compile(re.escape(BASE_URL) + r"/([ia])/([A-Za-z0-9_-]{43})")


def options(tmp_path, dsn, gateway=None, **more):
    return engine.Options(str(tmp_path / "state"), dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"),
                          sms_gateway=gateway, **more)


def apply(tmp_path, dsn, gateway=None, state=None, **more):
    state = state or STATE
    write_state(tmp_path / "state", {"s.yml": state})
    declared = {account["number"] for account in state["accounts"]}
    passwords = {GIULIO: "Giulio-Marconi-2026"} if GIULIO in declared else {}
    return engine.run(options(tmp_path, dsn, gateway, passwords=passwords, **more))


def outbox(dsn):
    return db_rows(dsn, "SELECT id, stage, generation, state FROM sb_sms_outbox ORDER BY id")


def sms_files(directory):
    if not directory.exists():
        return []
    return [json.loads(path.read_text()) for path in sorted(directory.glob("*.json"))]


def file_url(directory):
    return "file://%s" % directory


# -- the file gateway, end to end through ansible-playbook ------------------------------------------

def test_site_yml_writes_one_sms_file_per_wizard_account_once_and_check_mode_writes_none(playbook, tmp_path):
    accounts = STATE["accounts"][:2] + [dict(STATE["accounts"][2], password="Giulio-Marconi-2026")]
    write_state(playbook.state_dir, {"s.yml": dict(STATE, accounts=accounts)})
    sms_dir = tmp_path / "sms"
    gateway = {"switchboard_sms_gateway": file_url(sms_dir)}

    checked = playbook.run("--check", extra_vars=gateway)
    assert "would send installation SMS to +393471234567" in checked
    assert "would send installation SMS to +393489876543" in checked
    assert not sms_dir.exists()

    first = playbook.run(extra_vars=gateway)
    assert "sent installation SMS to +393471234567 (393471234567.installation.1)" in first
    written = sms_files(sms_dir)
    assert [(d["id"], d["to"], d["stage"]) for d in written] == [
        ("393471234567.installation.1", MARCO, "installation"), ("393489876543.installation.1", LUCA, "installation")]
    assert re.fullmatch(r"Marco Rossi, your secure phone line \+393471234567: install the app from "
                        + LINK.pattern, written[0]["text"])
    assert db_rows(playbook.dsn, "SELECT number, last_status FROM sb_accounts ORDER BY number") == [
        (GIULIO, "created"), (MARCO, "installation_sms_sent"), (LUCA, "installation_sms_sent")]

    again = playbook.run(extra_vars=gateway)
    assert recap_changed(again) == 0
    assert len(sms_files(sms_dir)) == 2

    # The phone installed the app (the provisioning service records it): the cheap playbook sends the activation.
    db_rows(playbook.dsn, "UPDATE sb_accounts SET last_status = 'installed' WHERE number = ?", (MARCO,))
    checked = playbook.run("--check", playbook="playbooks/activation.yml", extra_vars=gateway)
    assert "would send activation SMS to +393471234567" in checked
    assert len(sms_files(sms_dir)) == 2
    advanced = playbook.run(playbook="playbooks/activation.yml", extra_vars=gateway)
    assert "sent activation SMS to +393471234567 (393471234567.activation.1)" in advanced
    assert recap_changed(playbook.run(playbook="playbooks/activation.yml", extra_vars=gateway)) == 0
    activation = [d for d in sms_files(sms_dir) if d["stage"] == "activation"]
    assert len(activation) == 1 and re.fullmatch(r"Attiva \+393471234567: " + LINK.pattern, activation[0]["text"])

    # An explicit re-send is the only way to send one more, and sends exactly one.
    playbook.run(playbook="playbooks/sms.yml", extra_vars=dict(gateway, number=MARCO, action="send_installation_sms"))
    assert [d["id"] for d in sms_files(sms_dir)] == ["393471234567.activation.1", "393471234567.installation.1",
                                                     "393471234567.installation.2", "393489876543.installation.1"]
    assert db_rows(playbook.dsn, "SELECT last_status FROM sb_accounts WHERE number = ?", (MARCO,)) == [
        ("activation_sms_sent",)]  # a re-sent installation SMS never moves the lifecycle back

    # Tokens exist in clear only in the SMS texts: never in outputs, plan files or the database.
    tokens = [LINK.search(d["text"]).group(2) for d in sms_files(sms_dir)]
    connection = sqlite3.connect(playbook.dsn[len("sqlite://"):])
    dump = "\n".join(connection.iterdump())
    connection.close()
    everything = "\n".join(playbook.outputs) + dump + "".join(p.read_text() for p in playbook.report_dir.iterdir())
    for token in tokens:
        assert token not in everything
    import hashlib
    assert sorted(r[0] for r in db_rows(playbook.dsn, "SELECT token_hash FROM sb_tokens")) == sorted(
        hashlib.sha256(t.encode()).hexdigest() for t in tokens)


def test_platform_info_shows_the_history(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, file_url(tmp_path / "sms"))
    found = engine.gathered(pbx_dsn, SIP_DOMAIN, ["accounts"])["account_status"]
    assert found[MARCO]["last_status"] == "installation_sms_sent"
    assert [(e["event"], e["detail"]) for e in found[MARCO]["history"]] == [
        ("created", None),
        ("installation_sms_sent", "393471234567.installation.1: written to %s" % (tmp_path / "sms" / "393471234567.installation.1.json"))]
    assert [e["event"] for e in found[GIULIO]["history"]] == ["created"]
    assert set(found[MARCO]["history"][0]) == {"at", "event", "detail"}


def test_a_wizard_profile_without_base_url_is_refused(tmp_path, sqlite_dsn):
    state = dict(STATE, provisioning_profiles=[{"name": "mobile"}])
    with pytest.raises(InvalidState) as refused:
        apply(tmp_path, sqlite_dsn, state=state)
    assert [str(p) for p in refused.value.problems] == [
        "s.yml: accounts[%d].provisioning_profile: provisioning profile 'mobile' has no base_url: the SMS links start "
        "with it (rule: wizard activation needs a provisioning profile with base_url)" % index for index in (0, 1)]


def test_without_a_gateway_the_sms_stay_queued_and_the_next_run_sends_them(tmp_path, sqlite_dsn):
    result = apply(tmp_path, sqlite_dsn)
    assert result["warnings"] == ["2 SMS pending (393471234567.installation.1, 393489876543.installation.1): no SMS "
                                  "gateway is configured; set switchboard_sms_gateway and run again"]
    assert [row[3] for row in outbox(sqlite_dsn)] == ["pending", "pending"]
    result = apply(tmp_path, sqlite_dsn, file_url(tmp_path / "sms"))
    assert result["sms"]["sent"] == ["393471234567.installation.1", "393489876543.installation.1"]
    assert len(sms_files(tmp_path / "sms")) == 2


# -- exactly once under faults ------------------------------------------------------------------------

def _killed_while_sending(tmp_path, dsn, gateway, after_request):
    """The run dies between the commit of `sending` and the recorded answer (SIGKILL-like: no cleanup), before
    the request left or after the gateway took it."""
    def child():
        real_send = FileGateway.send

        def send_and_die(self, message):
            if after_request:
                real_send(self, message)
            os._exit(9)
        FileGateway.send = send_and_die
        apply(tmp_path, dsn, gateway)
    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    process.join(60)
    assert process.exitcode == 9


@pytest.mark.parametrize("after_request", [False, True], ids=["before_the_request", "after_the_request"])
def test_a_run_killed_while_sending_leaves_unknown_and_nothing_is_re_sent(tmp_path, pbx_dsn, after_request):
    sms_dir = tmp_path / "sms"
    _killed_while_sending(tmp_path, pbx_dsn, file_url(sms_dir), after_request)
    marco_files = ["393471234567.installation.1"] if after_request else []
    assert outbox(pbx_dsn) == [("393471234567.installation.1", "installation", 1, "sending"),
                               ("393489876543.installation.1", "installation", 1, "pending")]
    result = apply(tmp_path, pbx_dsn, file_url(sms_dir))
    assert result["sms"]["unknown"] == ["393471234567.installation.1"]
    assert result["warnings"][0] == ("SMS 393471234567.installation.1 was being sent when a run stopped: maybe sent, "
                                     "marked unknown")
    assert result["warnings"][1] == (
        "installation SMS 393471234567.installation.1 to +393471234567 may not have arrived (maybe sent: the run sending "
        "it stopped before the gateway's answer was recorded): not sent again automatically; to send it again: "
        "switchboard.pbx.sip_account number=\"+393471234567\" action=send_installation_sms (or: ansible-playbook -i "
        "INVENTORY playbooks/sms.yml -e number=+393471234567 -e action=send_installation_sms)")
    assert [d["id"] for d in sms_files(sms_dir)] == marco_files + ["393489876543.installation.1"]
    again = apply(tmp_path, pbx_dsn, file_url(sms_dir))
    assert again["sms"]["sent"] == [] and again["sms"]["unknown"] == ["393471234567.installation.1"]
    assert [d["id"] for d in sms_files(sms_dir)] == marco_files + ["393489876543.installation.1"]
    history = db_rows(pbx_dsn, "SELECT event FROM sb_history WHERE account = ? ORDER BY id", (MARCO,))
    assert history == [("created",), ("installation_sms_unknown",)]

    # The explicit action sends exactly one more; the unknown one is then no longer reported.
    sent = account_actions.run(options(tmp_path, pbx_dsn, file_url(sms_dir)), MARCO, "send_installation_sms", engine.now)
    assert sent["sms"]["sent"] == ["393471234567.installation.2"] and sent["warnings"] == []
    assert [d["id"] for d in sms_files(sms_dir)] == marco_files + ["393471234567.installation.2",
                                                                   "393489876543.installation.1"]


def test_a_gateway_refusal_is_failed_reported_and_never_retried(tmp_path, sqlite_dsn):
    with HttpStub("not_routable") as stub:
        gateway = "kannel://switchboard@127.0.0.1:%d?smsc=FAKE" % stub.port
        result = apply(tmp_path, sqlite_dsn, gateway, sms_password="Stub-Secret-pw")
        assert len(stub.requests) == 2
        assert result["sms"]["failed"] == ["393471234567.installation.1", "393489876543.installation.1"]
        assert result["warnings"][0] == (
            "installation SMS 393471234567.installation.1 to +393471234567 failed (HTTP 403: Not routable. Do not try "
            "again.): not sent again automatically; to send it again: switchboard.pbx.sip_account "
            "number=\"+393471234567\" action=send_installation_sms (or: ansible-playbook -i INVENTORY playbooks/sms.yml "
            "-e number=+393471234567 -e action=send_installation_sms)")
        again = apply(tmp_path, sqlite_dsn, gateway, sms_password="Stub-Secret-pw")
        assert len(stub.requests) == 2
        plan = json.loads(open(again["plan_file"]).read())
        assert [(m["id"], m["state"], m["resend"].split(" (")[0]) for m in plan["sms_to_resend"]] == [
            ("393471234567.installation.1", "failed",
             'switchboard.pbx.sip_account number="+393471234567" action=send_installation_sms'),
            ("393489876543.installation.1", "failed",
             'switchboard.pbx.sip_account number="+393489876543" action=send_installation_sms')]
        assert again["sms"]["failed"] == result["sms"]["failed"] and again["changed"] is False
    assert db_rows(sqlite_dsn, "SELECT event FROM sb_history WHERE account = ? ORDER BY id", (MARCO,)) == [
        ("created",), ("installation_sms_failed",)]
    assert db_rows(sqlite_dsn, "SELECT count(*) FROM sb_tokens WHERE used_at IS NULL") == [(0,)]


def test_a_gateway_that_is_down_leaves_the_sms_pending_and_the_next_run_sends_them(tmp_path, sqlite_dsn):
    port = free_port("127.0.0.1", ("tcp",))
    result = apply(tmp_path, sqlite_dsn, "kannel://switchboard@127.0.0.1:%d?smsc=FAKE" % port, sms_password="pw-123456")
    assert result["changed"] is True  # the accounts are created all the same
    assert result["warnings"] == [
        "SMS gateway kannel://switchboard@127.0.0.1:%d?smsc=FAKE did not take SMS 393471234567.installation.1 in 3 "
        "attempts (not sent: cannot connect to 127.0.0.1:%d: Connection refused): certainly not sent; 2 SMS stay pending "
        "and the next run sends them" % (port, port)]
    assert [row[3] for row in outbox(sqlite_dsn)] == ["pending", "pending"]
    assert db_rows(sqlite_dsn, "SELECT count(*) FROM sb_tokens") == [(0,)]
    sent = apply(tmp_path, sqlite_dsn, file_url(tmp_path / "sms"))
    assert sent["sms"]["sent"] == ["393471234567.installation.1", "393489876543.installation.1"]


# -- a real Kannel with fakesmsc ---------------------------------------------------------------------


def test_kannel_delivers_exactly_one_installation_sms_per_account(tmp_path, sqlite_dsn, kannel):
    before = len(kannel.received())
    state = dict(STATE, accounts=STATE["accounts"][:1])
    apply(tmp_path, sqlite_dsn, kannel.gateway_url, state=state, sms_password=kannel.password)
    apply(tmp_path, sqlite_dsn, kannel.gateway_url, state=state, sms_password=kannel.password)
    received = kannel.wait_received(before + 1)[before:]
    assert [(sms.to, LINK.search(sms.text).group(1)) for sms in received] == [(MARCO, "i")]
    assert kannel.password not in kannel.logs()


def test_kannel_down_then_up(tmp_path, sqlite_dsn, kannel):
    before = len(kannel.received())
    state = dict(STATE, accounts=STATE["accounts"][1:2])
    kannel.stop_smsbox()
    try:
        down = apply(tmp_path, sqlite_dsn, kannel.gateway_url, state=state, sms_password=kannel.password)
    finally:
        kannel.start_smsbox()
    assert down["sms"]["pending"] == ["393489876543.installation.1"]
    assert "certainly not sent; 1 SMS stay pending and the next run sends them" in down["warnings"][0]
    up = apply(tmp_path, sqlite_dsn, kannel.gateway_url, state=state, sms_password=kannel.password)
    assert up["sms"]["sent"] == ["393489876543.installation.1"]
    assert [sms.to for sms in kannel.wait_received(before + 1)[before:]] == [LUCA]


# -- explicit actions -------------------------------------------------------------------------------

def test_a_plain_pgsm_account_gets_an_activation_sms_on_demand_and_stays_enabled(tmp_path, sqlite_dsn):
    apply(tmp_path, sqlite_dsn, file_url(tmp_path / "sms"))
    checked = account_actions.run(dataclasses.replace(options(tmp_path, sqlite_dsn, file_url(tmp_path / "sms")),
                                                      check_mode=True), GIULIO, "send_activation_sms", engine.now)
    assert checked["sms"] == {"would_send": ["would send activation SMS to +393351112233"]}
    assert db_rows(sqlite_dsn, "SELECT count(*) FROM sb_sms_outbox WHERE account = ?", (GIULIO,)) == [(0,)]
    sent = account_actions.run(options(tmp_path, sqlite_dsn, file_url(tmp_path / "sms")), GIULIO,
                               "send_activation_sms", engine.now)
    assert sent["sms"]["sent"] == ["393351112233.activation.1"]
    assert db_rows(sqlite_dsn, "SELECT count(*) FROM grp WHERE username = '5003'") == [(0,)]  # still enabled


def test_revoke_keys_deletes_the_key_and_invalidates_open_links(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, file_url(tmp_path / "sms"))
    db_rows(pbx_dsn, "INSERT INTO sb_client_keys (account, public_key, uploaded_at) VALUES (?, 'PUBKEY', '2026-01-01')",
            (MARCO,))
    port = free_port("127.0.0.1", ("tcp",))
    result = account_actions.run(options(tmp_path, pbx_dsn, rpc_url="http://127.0.0.1:%d/RPC" % port), MARCO,
                                 "revoke_keys", engine.now)
    assert result["message"] == "revoked the keys of +393471234567"
    assert result["summary_text"] == ["1 stored key deleted, 1 open link invalidated"]
    assert result["warnings"][0].startswith("the PBX database is updated, but Kamailio could not be told")
    assert db_rows(pbx_dsn, "SELECT count(*) FROM sb_client_keys") == [(0,)]
    assert db_rows(pbx_dsn, "SELECT count(*) FROM sb_tokens WHERE account = ? AND used_at IS NULL", (MARCO,)) == [(0,)]
    assert db_rows(pbx_dsn, "SELECT count(*) FROM sb_tokens WHERE account = ? AND used_at IS NULL", (LUCA,)) == [(1,)]
    assert db_rows(pbx_dsn, "SELECT event, detail FROM sb_history WHERE account = ? ORDER BY id", (MARCO,))[-1] == (
        "keys_revoked", "1 stored key deleted, 1 open link invalidated")


def test_an_explicit_action_on_an_unknown_or_snom_account_is_refused(tmp_path, sqlite_dsn):
    apply(tmp_path, sqlite_dsn, file_url(tmp_path / "sms"))
    with pytest.raises(Exception, match=r"^account \+393470000000 does not exist: nothing was sent or changed$"):
        account_actions.run(options(tmp_path, sqlite_dsn), "+393470000000", "send_installation_sms", engine.now)


# -- the schema migration -----------------------------------------------------------------------------

def test_a_version_3_database_is_migrated_and_its_new_wizard_accounts_get_their_sms(tmp_path, pbx_dsn):
    plain = dict(STATE, accounts=STATE["accounts"][2:])
    apply(tmp_path, pbx_dsn, state=plain)
    for table in ("sb_sms_outbox", "sb_tokens", "sb_history", "sb_client_keys", "sb_applies"):  # what version 3 had
        db_rows(pbx_dsn, "DROP TABLE %s" % table)
    db_rows(pbx_dsn, "DROP INDEX sb_accounts_last_status_idx")  # schema version 6's
    db_rows(pbx_dsn, "UPDATE sb_schema SET version = 3")
    result = apply(tmp_path, pbx_dsn, file_url(tmp_path / "sms"))
    assert db_rows(pbx_dsn, "SELECT version FROM sb_schema") == [(6,)]
    assert result["sms"]["sent"] == ["393471234567.installation.1", "393489876543.installation.1"]
    assert db_rows(pbx_dsn, "SELECT account, event FROM sb_history ORDER BY id")[:2] == [
        (MARCO, "created"), (LUCA, "created")]


def test_the_queued_sms_of_an_account_deleted_before_sending_is_never_sent(tmp_path, sqlite_dsn):
    apply(tmp_path, sqlite_dsn)  # no gateway: both stay queued
    state = dict(STATE, accounts=STATE["accounts"][1:])
    write_state(tmp_path / "state", {"s.yml": state})
    result = engine.run(options(tmp_path, sqlite_dsn, file_url(tmp_path / "sms"), mode="overridden",
                                passwords={GIULIO: "Giulio-Marconi-2026"}))
    assert result["sms"]["sent"] == ["393489876543.installation.1"] and result["warnings"] == []
    assert outbox(sqlite_dsn)[0] == ("393471234567.installation.1", "installation", 1, "failed")
    assert [d["to"] for d in sms_files(tmp_path / "sms")] == [LUCA]


def test_a_template_without_the_link_is_refused(tmp_path, sqlite_dsn):
    profile = dict(STATE["provisioning_profiles"][0], templates={"installation": "Benvenuto {{ owner }}"})
    with pytest.raises(InvalidState) as refused:
        apply(tmp_path, sqlite_dsn, state=dict(STATE, provisioning_profiles=[profile]))
    assert [str(p) for p in refused.value.problems] == [
        "s.yml: provisioning_profiles[0].templates.installation: the text has no {{ link }}: the SMS would not carry "
        "the link (rule: an SMS template carries the link)"]


def test_a_template_that_cannot_be_rendered_leaves_the_sms_pending(tmp_path, sqlite_dsn):
    profile = dict(STATE["provisioning_profiles"][0], templates={"installation": "{{ link }} {{ owner.nope() }}"})
    result = apply(tmp_path, sqlite_dsn, file_url(tmp_path / "sms"), state=dict(STATE, provisioning_profiles=[profile]))
    assert result["warnings"][0] == ("SMS 393471234567.installation.1 to +393471234567 stays pending: the installation "
                                     "template of its provisioning profile cannot be rendered (UndefinedError)")
    assert [row[3] for row in outbox(sqlite_dsn)] == ["pending", "pending"]
    assert not (tmp_path / "sms").exists()


def _sip_account_task(tmp_path, name, **args):
    path = tmp_path / ("%s.yml" % name)
    task = dict({"dsn": "{{ switchboard_pbx_dsn }}", "sip_domain": "{{ switchboard_sip_domain }}",
                 "sms_gateway": "{{ switchboard_sms_gateway }}"}, **args)
    path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False,
                                     "tasks": [{"switchboard.pbx.sip_account": task, "register": "done"},
                                               {"ansible.builtin.debug": {"var": "done.sms"}}]}]))
    return str(path)


def test_the_sip_account_door_sends_the_sms_of_the_wizard_account_it_creates(playbook, tmp_path):
    write_state(playbook.state_dir, {"s.yml": dict(STATE, accounts=[])})
    gateway = {"switchboard_sms_gateway": file_url(tmp_path / "sms")}
    playbook.run(extra_vars=gateway)
    create = _sip_account_task(tmp_path, "create", number=MARCO, group="field", type="pgsm", activation="wizard")
    playbook.run(playbook=create, extra_vars=gateway)
    assert [(d["id"], d["to"]) for d in sms_files(tmp_path / "sms")] == [("393471234567.installation.1", MARCO)]
    assert recap_changed(playbook.run(playbook=create, extra_vars=gateway)) == 0
    assert len(sms_files(tmp_path / "sms")) == 1

    mixed = _sip_account_task(tmp_path, "mixed", number=MARCO, action="send_activation_sms", owner="Marco")
    output = playbook.run(playbook=mixed, extra_vars=gateway, expect_rc=2)
    assert ("action send_activation_sms works on the account as it is: give no account fields with it "
            "(given: owner)") in output
    assert len(sms_files(tmp_path / "sms")) == 1
