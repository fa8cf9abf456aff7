# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who may talk to the SIP server (SPEC §10), against the real Kamailio with real clients:
every request outside the declared trusted peers authenticates and its From is the account;
the callee sees the caller's main number; voice_channels holds live; a trusted peer reaches
numbers without authentication and nobody else does. Every test declares its own accounts."""

from __future__ import annotations

import itertools
import json
import re
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support.kamailio import KamailioServer  # noqa: E402
from support.platform import DeclaredPlatform  # noqa: E402
from support.ports import free_port  # noqa: E402
from support.sip import Baresip, sip_options, sipsak_register  # noqa: E402
from support.uas import StubCallee, headers  # noqa: E402

DOMAIN = "127.0.0.1"
STRANGER = "127.0.0.4"  # no trusted peer covers it
_ids = itertools.count(1)
_hosts = itertools.count(30)


def new_account(pbx, numbers=2, **fields):
    """(username, password, [numbers]) of a new account; the first number is the main one."""
    n = next(_ids)
    user, password = "6%05d" % n, "pw-%05d-password" % n
    owned = ["+3961%05d%d" % (n, i) for i in range(numbers)]
    pbx.rows.add_account(user, password, numbers=owned, **fields)
    return user, password, owned


def new_host():
    """A loopback source of its own for each client, so their registrations never mix."""
    return "127.0.0.%d" % next(_hosts)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def pbx(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("kamailio-trust-%s" % request.param)
    if request.param == "sqlite":
        dsn = "sqlite://%s" % (workdir / "pbx.sqlite")
    else:
        dsn = request.getfixturevalue("pg_cluster").new_database("trust_%s" % workdir.name.replace("-", "_"))
    rows = DeclaredPlatform(dsn, DOMAIN, workdir)
    server = KamailioServer(dsn, workdir, sip_domain=DOMAIN).start()
    rows.rpc_url = server.rpc.url
    server.rows = rows
    yield server
    server.stop()
    errors = [line for line in server.log().splitlines()
              if (" ERROR: " in line or " CRITICAL: " in line) and "receive_fd(): EOF" not in line]
    assert not errors, "Kamailio logged errors while running:\n" + "\n".join(errors[:20])


def options(pbx, target, source=STRANGER, **kwargs):
    return sip_options(DOMAIN, pbx.sip_port, target, local_ip=source, **kwargs)


def stub_callee(pbx, user, password, **kwargs):
    """A far end registered as the account: it records the INVITEs it receives."""
    host = new_host()
    port = free_port(host, ("udp",), below=10000)
    reply = sipsak_register(DOMAIN, pbx.sip_port, user, password, local_ip=host, local_port=port)
    assert reply.code == 200, reply.output
    return StubCallee(host, port, **kwargs)


@pytest.mark.parametrize("spoofed", ["another account's number", "another account's username", "an unknown user",
                                     "a disabled account's number"])
def test_a_spoofed_from_is_refused(pbx, spoofed):
    caller, password, _numbers = new_account(pbx)
    _callee, _pw, callee_numbers = new_account(pbx)
    if spoofed == "another account's number":
        from_user = new_account(pbx)[2][1]
    elif spoofed == "another account's username":
        from_user = new_account(pbx)[0]
    elif spoofed == "an unknown user":
        from_user = "+3969%05d" % next(_ids)
    else:
        from_user = new_account(pbx, disabled=True)[2][0]
    # with the caller's own credentials: authenticated, but the From is not the caller
    with_own = options(pbx, callee_numbers[0], from_user=from_user, auth_user=caller, password=password)
    assert (with_own.code, with_own.reason) == (403, "From is not the authenticated account"), with_own.output
    # without credentials of that identity: challenged, then refused
    guessing = options(pbx, callee_numbers[0], from_user=from_user, password="guessed-password")
    assert "SIP/2.0 407 Proxy Authentication Required" in guessing.output, guessing.output
    assert (guessing.code, guessing.reason) == (403, "Invalid credentials"), guessing.output


def test_no_credentials_no_call(pbx):
    _callee, _pw, callee_numbers = new_account(pbx)
    anonymous = options(pbx, callee_numbers[0])  # sipsak's own From; it answers the challenge with no password
    assert "SIP/2.0 407 Proxy Authentication Required" in anonymous.output, anonymous.output
    assert (anonymous.code, anonymous.reason) == (403, "Invalid credentials"), anonymous.output


def test_an_account_may_use_its_username_and_each_of_its_numbers_as_from(pbx):
    caller, password, numbers = new_account(pbx)
    _callee, _pw, callee_numbers = new_account(pbx)
    for from_user in [caller] + numbers:
        reply = options(pbx, callee_numbers[0], from_user=from_user, auth_user=caller, password=password)
        assert (reply.code, reply.reason) == (480, "Temporarily Unavailable"), (from_user, reply.output)


def test_a_disabled_account_cannot_call_by_any_of_its_names(pbx, tmp_path):
    user, password, numbers = new_account(pbx, disabled=True)
    _callee, _pw, callee_numbers = new_account(pbx)
    for from_user in [user] + numbers:
        reply = options(pbx, callee_numbers[0], from_user=from_user, auth_user=user, password=password)
        assert (reply.code, reply.reason) == (403, "Account disabled"), (from_user, reply.output)
    with Baresip(tmp_path / "disabled", DOMAIN, pbx.sip_port, user, password, local_ip=new_host(),
                 dial=callee_numbers[0]) as phone:
        assert phone.wait_call() == (403, "Account disabled"), phone.log()


def test_the_callee_sees_the_main_number_whatever_the_caller_sent(pbx, tmp_path):
    caller, password, (main, secondary) = new_account(pbx)
    other_main = new_account(pbx)[2][0]
    callee, callee_password, callee_numbers = new_account(pbx)
    with stub_callee(pbx, callee, callee_password, invite_status=(486, "Busy Here")) as far_end:
        reply = options(pbx, callee_numbers[1], from_user=secondary, auth_user=caller, password=password,
                        display="The CEO", method="INVITE",
                        headers=["P-Asserted-Identity: <sip:%s@%s>" % (other_main, DOMAIN),
                                 "P-Preferred-Identity: <sip:%s@%s>" % (other_main, DOMAIN)])
        assert (reply.code, reply.reason) == (486, "Busy Here"), reply.output
        [invite] = far_end.wait_invites(1)
    seen = headers(invite)
    assert seen["from"][0].split(";tag=")[0] == "%s <sip:%s@%s>" % (main, main, DOMAIN)
    assert seen["p-asserted-identity"] == ["<sip:%s@%s>" % (main, DOMAIN)]
    assert "p-preferred-identity" not in seen
    assert "The CEO" not in invite and other_main not in invite and secondary not in invite.split("\r\nContact:")[0]

    with stub_callee(pbx, callee, callee_password) as far_end:
        with Baresip(tmp_path / "caller", DOMAIN, pbx.sip_port, caller, password, local_ip=new_host(),
                     dial=callee_numbers[0]) as phone:
            assert phone.wait_registered() == (200, "OK"), phone.log()
            [invite] = far_end.wait_invites(1)
    seen = headers(invite)
    assert seen["from"][0].split(";tag=")[0] == "%s <sip:%s@%s>" % (main, main, DOMAIN)
    assert seen["p-asserted-identity"] == ["<sip:%s@%s>" % (main, DOMAIN)]


def test_voice_channels_2_refuses_the_third_call_in_or_out(pbx, tmp_path):
    caller, password, caller_numbers = new_account(pbx, voice_channels=2)
    callee, callee_password, callee_numbers = new_account(pbx)
    third_party, third_password, _n = new_account(pbx)
    with stub_callee(pbx, callee, callee_password) as far_end:  # it rings: both calls stay open
        first = Baresip(tmp_path / "a1", DOMAIN, pbx.sip_port, caller, password, local_ip=new_host(),
                        dial=callee_numbers[0]).start()
        second = Baresip(tmp_path / "a2", DOMAIN, pbx.sip_port, caller, password, local_ip=new_host(),
                         dial=callee_numbers[0]).start()
        try:
            assert len(far_end.wait_invites(2)) == 2, first.log() + second.log()
            with Baresip(tmp_path / "a3", DOMAIN, pbx.sip_port, caller, password, local_ip=new_host(),
                         dial=callee_numbers[1]) as third:
                assert third.wait_call() == (403, "Too many calls"), third.log()
            # in + out together: a call to the account is refused as well
            with Baresip(tmp_path / "in", DOMAIN, pbx.sip_port, third_party, third_password, local_ip=new_host(),
                         dial=caller_numbers[0]) as incoming:
                assert incoming.wait_call() == (486, "Too many calls"), incoming.log()
            assert len(far_end.invites) == 2
            first.stop()  # hangs up: the channel is free again
            deadline = time.monotonic() + 5
            while pbx.rpc.call("dlg.profile_get_size", "sb_calls", "sip:%s@%s" % (caller, DOMAIN)) != 1:
                assert time.monotonic() < deadline, "the ended call still counts"
                time.sleep(0.05)
            with Baresip(tmp_path / "a4", DOMAIN, pbx.sip_port, caller, password, local_ip=new_host(),
                         dial=callee_numbers[0]):
                assert len(far_end.wait_invites(3)) == 3
        finally:
            first.stop()
            second.stop()


def test_simultaneous_calls_cannot_slip_under_the_limit(pbx):
    caller, password, (main, _secondary) = new_account(pbx, voice_channels=2)
    callee, callee_password, callee_numbers = new_account(pbx)

    def call(source):
        return options(pbx, callee_numbers[0], source=source, from_user=main, auth_user=caller, password=password,
                       method="INVITE", timeout=4)

    with stub_callee(pbx, callee, callee_password) as far_end:  # it rings: every call that gets through stays
        with ThreadPoolExecutor(6) as pool:
            replies = list(pool.map(call, [new_host() for _i in range(6)]))
        refused = [r for r in replies if (r.code, r.reason) == (403, "Too many calls")]
        assert len(far_end.invites) == 2 and len(refused) == 4, [r[:2] for r in replies]


def test_a_trusted_peer_reaches_numbers_without_authentication_and_no_one_else_does(pbx):
    callee, callee_password, callee_numbers = new_account(pbx)
    gateway, network_host = new_host(), "127.0.1.%d" % next(_hosts)
    pbx.rows.add_trusted_peer("gateway", gateway, "an SBC in front of the carrier")
    pbx.rows.add_trusted_peer("carrier-net", "127.0.1.0/24")
    with stub_callee(pbx, callee, callee_password):
        for source in (gateway, network_host):
            reply = options(pbx, callee_numbers[0], source=source)
            assert (reply.code, reply.reason) == (200, "OK"), (source, reply.output)
        # numbers of accounts only: not an account's username, not an unknown number
        assert options(pbx, callee, source=gateway)[:2] == (404, "Not Found")
        assert options(pbx, "+3969%05d" % next(_ids), source=gateway)[:2] == (404, "Not Found")
        stranger = options(pbx, callee_numbers[0], source=new_host())
        assert "SIP/2.0 407 Proxy Authentication Required" in stranger.output, stranger.output
        assert (stranger.code, stranger.reason) == (403, "Invalid credentials"), stranger.output
    # removed from the state: refused at once (the engine reloads Kamailio's cached list)
    result = pbx.rows.remove_trusted_peer("gateway")
    assert "delete trusted_peers/gateway" in result["changes"]
    assert result["server"]["trusted_peers_reloaded"] is True
    refused = options(pbx, callee_numbers[0], source=gateway)
    assert "SIP/2.0 407 Proxy Authentication Required" in refused.output, refused.output
    assert (refused.code, refused.reason) == (403, "Invalid credentials"), refused.output
    with stub_callee(pbx, callee, callee_password):  # the other peer still reaches the number
        assert options(pbx, callee_numbers[0], source=network_host)[:2] == (200, "OK")


def forged_in_dialog_invite(pbx, source, contact_uri):
    """An INVITE that pretends to belong to a call (To tag, Route through the server) and asks the server to
    relay it straight to a phone's contact: what an attacker without credentials would try. Returns the status line."""
    message = "\r\n".join([
        "INVITE %s SIP/2.0" % contact_uri,
        "Via: SIP/2.0/UDP %s:5099;branch=z9hG4bK-forged-%d;rport" % (source, next(_ids)),
        "Route: <sip:%s:%d;lr>" % (DOMAIN, pbx.sip_port),
        "From: <sip:intruder@%s>;tag=forged" % source,
        "To: <%s>;tag=not-a-call" % contact_uri,
        "Call-ID: forged-%d@%s" % (next(_ids), source),
        "CSeq: 1 INVITE",
        "Contact: <sip:intruder@%s:5099>" % source,
        "Max-Forwards: 70",
        "Content-Length: 0", "", ""])
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(3)
        sock.sendto(message.encode(), (DOMAIN, pbx.sip_port))
        try:
            while True:
                status = sock.recv(65535).decode().split("\r\n", 1)[0]
                if not status.startswith("SIP/2.0 1"):
                    return status
        except socket.timeout:
            return "no final reply (relayed?)"


def test_a_forged_in_dialog_request_does_not_reach_a_phone(pbx):
    callee, callee_password, _numbers = new_account(pbx)
    with stub_callee(pbx, callee, callee_password) as far_end:
        contact = "sip:%s@%s:%d" % (callee, far_end.sock.getsockname()[0], far_end.sock.getsockname()[1])
        assert forged_in_dialog_invite(pbx, STRANGER, contact) == "SIP/2.0 403 Not in a known call"
        time.sleep(0.3)
        assert far_end.invites == []


def test_the_site_playbook_declares_a_trusted_peer_that_works_at_once(pbx, tmp_path):
    """The operator's path: trusted_peers in a state file, ansible-playbook, a call in from the carrier."""
    from conftest import Playbook, recap_changed
    callee, callee_password = "6%05d" % next(_ids), "Playbook-pw-%d" % next(_ids)
    number, carrier = "+3962%05d" % next(_ids), new_host()
    run = Playbook(tmp_path, pbx.dsn)
    run.state_dir.mkdir()
    (run.state_dir / "trunk.yml").write_text(json.dumps({
        "groups": [{"name": "playbook"}],
        "accounts": [{"number": number, "group": "playbook", "username": callee, "password": callee_password}],
        "trusted_peers": [{"name": "playbook-carrier", "address": carrier, "description": "inbound trunk"}]}))
    output = run.run("-v", extra_vars={"switchboard_sip_domain": DOMAIN, "switchboard_pbx_rpc_url": pbx.rpc.url})
    assert recap_changed(output) == 1
    assert re.search(r'"trusted_peers_reloaded": true', output), output
    with stub_callee(pbx, callee, callee_password):
        assert options(pbx, number, source=carrier)[:2] == (200, "OK")
