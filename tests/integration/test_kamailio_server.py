# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real SIP server: what the engine writes from the declared state, Kamailio (the role's config)
enforces live, over SQLite and PostgreSQL, against real clients (sipsak, baresip) on loopback.
Every test uses its own accounts, so they share one Kamailio per database engine."""

from __future__ import annotations

import itertools
import re
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conftest import db_rows  # noqa: E402
from support.kamailio import KamailioServer, check_config, rpc  # noqa: E402
from support.platform import DeclaredPlatform, sqlite_path  # noqa: E402
from support.ports import free_port  # noqa: E402
from support.sip import Baresip, sip_options, sipsak_register  # noqa: E402

DOMAIN = "127.0.0.1"
CARRIER = "127.0.0.5"  # a declared trusted peer: it reaches numbers without authentication
_ids = itertools.count(1)


def new_user():
    return "7%05d" % next(_ids)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def pbx(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("kamailio-%s" % request.param)
    if request.param == "sqlite":
        dsn = "sqlite://%s" % (workdir / "pbx.sqlite")
    else:
        dsn = request.getfixturevalue("pg_cluster").new_database("kamailio_%s" % workdir.name.replace("-", "_"))
    rows = DeclaredPlatform(dsn, DOMAIN, workdir)
    server = KamailioServer(dsn, workdir, sip_domain=DOMAIN).start()
    rows.rpc_url = server.rpc.url
    assert rows.add_trusted_peer("carrier", CARRIER, "the tests' inbound carrier")["server"]["trusted_peers_reloaded"]
    server.rows = rows
    server.engine = request.param
    yield server
    server.stop()
    # a shutdown (also the restart test's) logs CRITICAL "receive_fd(): EOF on N": noise
    errors = [line for line in server.log().splitlines()
              if (" ERROR: " in line or " CRITICAL: " in line) and "receive_fd(): EOF" not in line]
    assert not errors, "Kamailio logged errors while running:\n" + "\n".join(errors[:20])


def register(pbx, user, password, source="127.0.0.2", **kwargs):
    return sipsak_register(DOMAIN, pbx.sip_port, user, password, local_ip=source, **kwargs)


def contacts_of(pbx, user):
    return [c for c in pbx.rpc.registered_contacts() if c["username"] == user]


def test_rendered_config_passes_kamailio_check(pbx):
    ok, output = check_config(pbx.config_path)
    assert ok, output
    text = pbx.config_path.read_text()
    for line in ("dns=no", "rev_dns=no", "auto_aliases=no", 'run_dir="%s"' % pbx.run_dir):
        assert line in text
    assert pbx.rpc.call("core.version").startswith("kamailio 5.")


def test_register_with_the_right_password_shows_the_contact(pbx):
    user = new_user()
    pbx.rows.add_account(user, "s3cret-%s" % user, numbers=["+39%s" % user])
    reply = register(pbx, user, "s3cret-%s" % user, source="127.0.0.2", expires=120)
    assert (reply.code, reply.reason) == (200, "OK"), reply.output
    [contact] = contacts_of(pbx, user)
    assert contact["domain"] == DOMAIN
    assert contact["source"].startswith("127.0.0.2:")
    assert contact["contact"].startswith("sip:%s@127.0.0.2:" % user)
    assert 100 < contact["expires"] <= 120


def test_wrong_password_and_unknown_user_are_rejected(pbx):
    user = new_user()
    pbx.rows.add_account(user, "right-password")
    wrong = register(pbx, user, "wrong-password")
    assert wrong.code in (401, 403), wrong.output
    unknown = register(pbx, new_user(), "whatever-password")
    assert unknown.code in (401, 403), unknown.output
    assert contacts_of(pbx, user) == []


def test_disabled_account_can_neither_register_nor_call_nor_be_called(pbx):
    user, number = new_user(), "+3902%s" % next(_ids)
    pbx.rows.add_account(user, "pw-password", numbers=[number], disabled=True)
    reply = register(pbx, user, "pw-password")
    assert (reply.code, reply.reason) == (403, "Account disabled"), reply.output
    called = sip_options(DOMAIN, pbx.sip_port, number, local_ip="127.0.0.5")
    assert (called.code, called.reason) == (403, "Account disabled"), called.output
    other = new_user()
    pbx.rows.add_account(other, "pw2-password", numbers=["+3903%s" % next(_ids)])
    calling = sip_options(DOMAIN, pbx.sip_port, other, local_ip="127.0.0.4", from_user=user, password="pw-password")
    assert (calling.code, calling.reason) == (403, "Account disabled"), calling.output


def test_acl_allows_only_listed_sources(pbx):
    user = new_user()
    pbx.rows.add_account(user, "pw-password", networks=["10.1.0.0/16", "127.0.0.3/32"])
    allowed = register(pbx, user, "pw-password", source="127.0.0.3")
    assert allowed.code == 200, allowed.output
    denied = register(pbx, user, "pw-password", source="127.0.0.2")
    assert (denied.code, denied.reason) == (403, "Source address not allowed"), denied.output
    # An ACL that allows nothing is refused before anything is written; Kamailio's fail-safe still holds
    # when the rows are damaged by hand: sb_acl without sb_net allows nothing, and a run repairs it.
    db_rows(pbx.rows.dsn, "DELETE FROM usr_preferences WHERE username = ? AND attribute = 'sb_net'", (user,))
    assert db_rows(pbx.rows.dsn, "SELECT attribute FROM usr_preferences WHERE username = ? "
                   "AND attribute IN ('sb_acl', 'sb_net')", (user,)) == [("sb_acl",)]
    nothing = register(pbx, user, "pw-password", source="127.0.0.3")
    assert (nothing.code, nothing.reason) == (403, "Source address not allowed"), nothing.output
    assert pbx.rows.apply()["changes"] == ["update accounts/9%s (allowed networks)" % user]
    repaired = register(pbx, user, "pw-password", source="127.0.0.3")
    assert repaired.code == 200, repaired.output


def test_changes_take_effect_on_the_next_request_without_reload(pbx):
    user = new_user()
    pbx.rows.add_account(user, "old-password")
    assert register(pbx, user, "old-password").code == 200

    started = time.monotonic()
    pbx.rows.set_disabled(user, True)
    assert register(pbx, user, "old-password").reason == "Account disabled"
    pbx.rows.set_disabled(user, False)
    assert register(pbx, user, "old-password").code == 200

    pbx.rows.set_password(user, "new-password")
    assert register(pbx, user, "old-password").code in (401, 403)
    assert register(pbx, user, "new-password").code == 200

    pbx.rows.set_networks(user, ["127.0.0.4/32"])
    assert register(pbx, user, "new-password", source="127.0.0.2").reason == "Source address not allowed"
    assert register(pbx, user, "new-password", source="127.0.0.4").code == 200
    pbx.rows.set_networks(user, None)
    assert register(pbx, user, "new-password", source="127.0.0.2").code == 200
    # every change was seen by the very next REGISTER: no reload, no cache
    assert time.monotonic() - started < 5


def test_options_to_any_number_reaches_the_registered_baresip(pbx, tmp_path):
    user, primary, secondary = new_user(), "+3904%s" % next(_ids), "%d" % (100 + next(_ids))
    pbx.rows.add_account(user, "pw-bs-password", numbers=[primary, secondary])
    with Baresip(tmp_path / "baresip", DOMAIN, pbx.sip_port, user, "pw-bs-password", local_ip="127.0.0.6") as phone:
        assert phone.wait_registered() == (200, "OK"), phone.log()
        [contact] = contacts_of(pbx, user)
        assert contact["source"] == "127.0.0.6:%d" % phone.local_port
        for target in (secondary, primary):
            reply = sip_options(DOMAIN, pbx.sip_port, target, local_ip="127.0.0.5")
            assert reply.code == 200, (target, reply.output)
        # a trusted peer reaches numbers only; an account may call another by its username
        assert sip_options(DOMAIN, pbx.sip_port, user, local_ip="127.0.0.5").code == 404
        caller = new_user()
        pbx.rows.add_account(caller, "pw-caller-password")
        reply = sip_options(DOMAIN, pbx.sip_port, user, local_ip="127.0.0.4", from_user=caller,
                            password="pw-caller-password")
        assert reply.code == 200, reply.output
        added = "%d" % (500 + next(_ids))
        assert sip_options(DOMAIN, pbx.sip_port, added, local_ip="127.0.0.5").code == 404
        pbx.rows.add_number(user, added)  # a new alias works on the next request
        assert sip_options(DOMAIN, pbx.sip_port, added, local_ip="127.0.0.5").code == 200
        pbx.rows.remove_number(added)
        assert sip_options(DOMAIN, pbx.sip_port, added, local_ip="127.0.0.5").code == 404


def test_adding_a_secondary_number_recreates_the_account_and_routes_it(pbx, tmp_path):
    user, secondary = new_user(), "+3911%s" % next(_ids)
    pbx.rows.add_account(user, "pw-sec-password")
    assert register(pbx, user, "pw-sec-password", source="127.0.0.2").code == 200
    assert sip_options(DOMAIN, pbx.sip_port, secondary, local_ip="127.0.0.5").code == 404
    result = pbx.rows.set_secondary_number(user, secondary)
    assert result["changes"] == ["replace accounts/9%s (secondary_number)" % user]
    assert result["server"]["unregistered"] == [user]  # the client re-provisions, its old registration is gone
    assert contacts_of(pbx, user) == []
    with Baresip(tmp_path / "baresip", DOMAIN, pbx.sip_port, user, "pw-sec-password", local_ip="127.0.0.6") as phone:
        assert phone.wait_registered() == (200, "OK"), phone.log()
        assert sip_options(DOMAIN, pbx.sip_port, secondary, local_ip="127.0.0.5").code == 200


def test_a_call_between_two_baresips_is_established_and_refused_when_disabled(pbx, tmp_path):
    caller, callee, callee_number = new_user(), new_user(), "+3906%s" % next(_ids)
    pbx.rows.add_account(caller, "pw-a-password")
    pbx.rows.add_account(callee, "pw-b-password", numbers=["+3907%s" % next(_ids), callee_number])
    with Baresip(tmp_path / "b", DOMAIN, pbx.sip_port, callee, "pw-b-password", local_ip="127.0.0.8") as phone_b:
        assert phone_b.wait_registered() == (200, "OK"), phone_b.log()
        with Baresip(tmp_path / "a", DOMAIN, pbx.sip_port, caller, "pw-a-password", local_ip="127.0.0.9",
                     dial=callee_number) as phone_a:
            assert phone_a.wait_call() == (200, "Call established"), phone_a.log()
        # the callee sees the caller's main number, not the username baresip put in From (SPEC §2)
        assert "Call established: sip:9%s@%s" % (caller, DOMAIN) in phone_b.log(), phone_b.log()
        pbx.rows.set_disabled(callee, True)
        with Baresip(tmp_path / "a2", DOMAIN, pbx.sip_port, caller, "pw-a-password", local_ip="127.0.0.9",
                     dial=callee_number) as phone_a:
            assert phone_a.wait_call() == (403, "Account disabled"), phone_a.log()


def test_registrations_survive_a_restart(pbx):
    """usrloc db_mode 2 writes contacts back on shutdown and loads them at start."""
    user = new_user()
    pbx.rows.add_account(user, "pw-password")
    assert register(pbx, user, "pw-password", source="127.0.0.2", expires=300).code == 200
    pbx.restart()
    [contact] = contacts_of(pbx, user)
    assert contact["source"].startswith("127.0.0.2:")
    assert 250 < contact["expires"] <= 300


def test_baresip_is_refused_when_disabled(pbx, tmp_path):
    user = new_user()
    pbx.rows.add_account(user, "pw-password", disabled=True)
    with Baresip(tmp_path / "baresip", DOMAIN, pbx.sip_port, user, "pw-password", local_ip="127.0.0.7") as phone:
        assert phone.wait_registered() == (403, "Account disabled"), phone.log()


def test_unknown_number_is_404_and_offline_account_is_480(pbx):
    unknown = sip_options(DOMAIN, pbx.sip_port, "+3999%s" % next(_ids), local_ip="127.0.0.5")
    assert (unknown.code, unknown.reason) == (404, "Not Found"), unknown.output
    user, number = new_user(), "+3905%s" % next(_ids)
    pbx.rows.add_account(user, "pw-password", numbers=[number])
    offline = sip_options(DOMAIN, pbx.sip_port, number, local_ip="127.0.0.5")
    assert (offline.code, offline.reason) == (480, "Temporarily Unavailable"), offline.output
    server = sip_options(DOMAIN, pbx.sip_port, None, local_ip="127.0.0.5")
    assert server.code == 200, server.output


def test_reads_do_not_wait_for_an_open_write_transaction(pbx):
    """SQLite in WAL mode: Kamailio reads the last committed rows while the
    engine holds a write transaction (PostgreSQL: MVCC, the same)."""
    user = new_user()
    pbx.rows.add_account(user, "pw-password")
    if pbx.engine == "sqlite":
        writer = sqlite3.connect(sqlite_path(pbx.dsn), isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO grp (username, domain, grp) VALUES (?, ?, 'disabled')", (user, DOMAIN))
    else:
        import psycopg2
        writer = psycopg2.connect(pbx.dsn)
        writer.cursor().execute("INSERT INTO grp (username, domain, grp) VALUES (%s, %s, 'disabled')", (user, DOMAIN))
    try:
        assert register(pbx, user, "pw-password").code == 200  # uncommitted: not visible yet
        writer.execute("COMMIT") if pbx.engine == "sqlite" else writer.commit()
        assert register(pbx, user, "pw-password").reason == "Account disabled"
    finally:
        writer.close()


def test_a_named_sip_domain_on_an_ip_address(tmp_path):
    """SIP domain = realm = a name (no DNS: clients use the IP as outbound proxy);
    requests to the IP still find numbers and usernames of that domain."""
    domain = "pbx.test.example"
    dsn = "sqlite://%s" % (tmp_path / "pbx.sqlite")
    rows = DeclaredPlatform(dsn, domain, tmp_path)
    number = "+3908%s" % next(_ids)
    rows.add_account("9001", "pw-password", numbers=[number])
    rows.add_trusted_peer("carrier", CARRIER)  # read at start
    with KamailioServer(dsn, tmp_path / "k", sip_domain=domain) as server:
        with Baresip(tmp_path / "b", DOMAIN, server.sip_port, "9001", "pw-password", local_ip="127.0.0.3",
                     domain=domain) as phone:
            assert phone.wait_registered() == (200, "OK"), phone.log()
            [contact] = server.rpc.registered_contacts()
            assert (contact["username"], contact["domain"]) == ("9001", domain)
            reply = sip_options(DOMAIN, server.sip_port, number, local_ip="127.0.0.5")
            assert reply.code == 200, reply.output


def test_rpc_unreachable_raises_rpc_unavailable():
    port = free_port("127.0.0.1", ("tcp",))
    with pytest.raises(rpc.RpcUnavailable):
        rpc.KamailioRpc("http://127.0.0.1:%d/RPC" % port, timeout=1).registered_contacts()


def _playbook(tmp_path, inventory_vars, *extra):
    """Run roles/kamailio through ansible-playbook (collection linked from a temp dir)."""
    root = Path(__file__).resolve().parents[2]
    binary = Path(sys.executable).with_name("ansible-playbook")
    if not binary.exists():
        pytest.skip("ansible-playbook is not installed next to %s" % sys.executable)
    collections = tmp_path / "collections"
    link = collections / "ansible_collections" / "switchboard" / "pbx"
    if not link.exists():
        link.parent.mkdir(parents=True)
        link.symlink_to(root)
    inventory = tmp_path / "inventory.json"
    hostvars = dict(ansible_connection="local", ansible_python_interpreter=sys.executable, **inventory_vars)
    inventory.write_text(json.dumps({"all": {"hosts": {"pbx": hostvars}}}))
    playbook = tmp_path / "play.yml"
    playbook.write_text("- hosts: all\n  gather_facts: false\n  roles: [switchboard.pbx.kamailio]\n")
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_CONFIG=str(root / "ansible.cfg"),
               ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0")
    proc = subprocess.run([str(binary), "-i", str(inventory), str(playbook)] + list(extra), env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120, check=False)
    output = proc.stdout.decode("utf-8", "replace")
    assert proc.returncode == 0, output
    return output


def test_role_starts_kamailio_under_a_pid_file_idempotently(tmp_path):
    dsn = "sqlite://%s" % (tmp_path / "pbx.sqlite")
    sip_port, rpc_port = free_port("127.0.0.1", ("udp", "tcp"), below=10000), free_port("127.0.0.1", ("tcp",))
    lab = tmp_path / "kamailio"
    variables = dict(
        switchboard_pbx_dsn=dsn, switchboard_sip_domain=DOMAIN, kamailio_sip_port=sip_port, kamailio_rpc_port=rpc_port,
        kamailio_config_path=str(lab / "kamailio.cfg"), kamailio_run_dir=str(lab / "run"),
        kamailio_pid_file=str(lab / "kamailio.pid"), kamailio_log_file=str(lab / "kamailio.log"),
        kamailio_install_packages=False, kamailio_init_database=True, kamailio_children=2, kamailio_tcp_children=1)
    first = _playbook(tmp_path, variables)
    pid = int((lab / "kamailio.pid").read_text())
    try:
        DeclaredPlatform(dsn, DOMAIN, tmp_path).add_account("8001", "pw-password")
        reply = sipsak_register(DOMAIN, sip_port, "8001", "pw-password", local_ip="127.0.0.2")
        assert reply.code == 200, reply.output
        assert [c["username"] for c in rpc.KamailioRpc("http://127.0.0.1:%d/RPC" % rpc_port).registered_contacts()] == ["8001"]
        assert "changed=0" not in first
        again = _playbook(tmp_path, variables)
        assert "changed=0" in again, again
        assert int((lab / "kamailio.pid").read_text()) == pid
        _playbook(tmp_path, variables, "-e", "kamailio_state=stopped")
        assert not (lab / "kamailio.pid").exists()
        assert process_gone(pid)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def process_gone(pid):
    """True when pid is gone or a zombie (this machine's init may reap late)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_site_playbook_takes_effect_and_platform_info_shows_connected(pbx, tmp_path):
    """The operator's path: ansible-playbook site.yml, a real REGISTER, platform_info, a change."""
    from conftest import Playbook, recap_changed
    user, number = new_user(), "+3910%s" % next(_ids)
    run = Playbook(tmp_path, pbx.dsn)
    settings = {"switchboard_sip_domain": DOMAIN, "switchboard_pbx_rpc_url": pbx.rpc.url}

    def declare(enabled):
        account = {"number": number, "group": "front-desk", "type": "snom", "username": user,
                   "password": "Front-Desk-%s" % user, "enabled": enabled}
        run.state_dir.mkdir(exist_ok=True)
        (run.state_dir / "desk.yml").write_text(json.dumps({"groups": [{"name": "front-desk"}], "accounts": [account]}))

    declare(enabled=True)
    assert recap_changed(run.run(extra_vars=settings)) == 1
    assert register(pbx, user, "Front-Desk-%s" % user, source="127.0.0.2", expires=90).code == 200

    info = tmp_path / "info.json"
    info_playbook = tmp_path / "info.yml"
    info_playbook.write_text(json.dumps([{"hosts": "all", "gather_facts": False, "tasks": [
        {"switchboard.pbx.platform_info": {"dsn": "{{ switchboard_pbx_dsn }}", "sip_domain": "{{ switchboard_sip_domain }}",
                                           "rpc_url": "{{ switchboard_pbx_rpc_url }}", "kinds": ["accounts"],
                                           "query": "username:%s" % user},
         "register": "actual"},
        {"ansible.builtin.copy": {"content": "{{ actual.account_status | to_json }}", "dest": str(info)}}]}]))
    run.run(playbook=str(info_playbook), extra_vars=settings)
    status = json.loads(info.read_text())[number]
    assert status["connected"] is True
    [registration] = status["registrations"]
    assert registration["source"].startswith("127.0.0.2:")
    assert registration["contact"].startswith("sip:%s@127.0.0.2:" % user)
    assert 60 < registration["expires"] <= 90

    declare(enabled=False)
    output = run.run("-v", extra_vars=settings)
    assert recap_changed(output) == 1
    assert re.search(r'"unregistered": \[\s*"%s"\s*\]' % user, output), output
    assert contacts_of(pbx, user) == []
    assert register(pbx, user, "Front-Desk-%s" % user).reason == "Account disabled"
    run.run(playbook=str(info_playbook), extra_vars=settings)
    assert json.loads(info.read_text())[number]["connected"] is False


def test_unreachable_server_still_commits_with_a_warning(pbx, tmp_path):
    user = new_user()
    down = "http://127.0.0.1:%d/RPC" % free_port("127.0.0.1", ("tcp",))
    platform = DeclaredPlatform(pbx.dsn, DOMAIN, tmp_path, rpc_url=down)
    platform.accounts = dict(pbx.rows.accounts)
    platform.passwords = dict(pbx.rows.passwords)
    platform.add_account(user, "first-pw-password")
    result = platform.set_password(user, "second-pw-password")
    assert result["changes"] == ["update accounts/9%s (password)" % user]
    assert any("Kamailio could not be told" in w for w in result["warnings"])
    assert register(pbx, user, "second-pw-password").code == 200  # the state is correct: the server reads it live
