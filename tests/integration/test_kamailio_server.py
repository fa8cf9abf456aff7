# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real SIP server: Kamailio with the role's config enforces the data
contract rows live, over SQLite and PostgreSQL, against real clients (sipsak,
baresip) on loopback. Every test uses its own accounts, so they share one
Kamailio per database engine."""

from __future__ import annotations

import itertools
import sqlite3
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from support import postgres  # noqa: E402
from support.kamailio import KamailioServer, check_config, rpc  # noqa: E402
from support.pbx_rows import Rows, create_schema, sqlite_path  # noqa: E402
from support.ports import free_port  # noqa: E402
from support.sip import Baresip, sip_options, sipsak_register  # noqa: E402

DOMAIN = "127.0.0.1"
_ids = itertools.count(1)


def new_user():
    return "7%05d" % next(_ids)


@pytest.fixture(scope="module")
def pg_cluster():
    if not postgres.available():
        pytest.skip("PostgreSQL 15 server is not installed")
    cluster = postgres.PostgresCluster().start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def pbx(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("kamailio-%s" % request.param)
    if request.param == "sqlite":
        dsn = "sqlite://%s" % (workdir / "pbx.sqlite")
    else:
        dsn = request.getfixturevalue("pg_cluster").dsn
    create_schema(dsn)
    server = KamailioServer(dsn, workdir, sip_domain=DOMAIN).start()
    rows = Rows(dsn, domain=DOMAIN)
    server.rows = rows
    server.engine = request.param
    yield server
    rows.close()
    running_log = server.log()  # shutdown itself logs CRITICAL "receive_fd(): EOF" lines
    server.stop()
    errors = [line for line in running_log.splitlines() if " ERROR: " in line or " CRITICAL: " in line]
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
    pbx.rows.add_account(user, "right")
    wrong = register(pbx, user, "wrong")
    assert wrong.code in (401, 403), wrong.output
    unknown = register(pbx, new_user(), "whatever")
    assert unknown.code in (401, 403), unknown.output
    assert contacts_of(pbx, user) == []


def test_disabled_account_can_neither_register_nor_call_nor_be_called(pbx):
    user, number = new_user(), "+3902%s" % next(_ids)
    pbx.rows.add_account(user, "pw", numbers=[number], disabled=True)
    reply = register(pbx, user, "pw")
    assert (reply.code, reply.reason) == (403, "Account disabled"), reply.output
    called = sip_options(DOMAIN, pbx.sip_port, number, local_ip="127.0.0.5")
    assert (called.code, called.reason) == (403, "Account disabled"), called.output
    other = new_user()
    pbx.rows.add_account(other, "pw2", numbers=["+3903%s" % next(_ids)])
    calling = sip_options(DOMAIN, pbx.sip_port, other, local_ip="127.0.0.5", from_user=user, password="pw")
    assert (calling.code, calling.reason) == (403, "Account disabled"), calling.output


def test_acl_allows_only_listed_sources(pbx):
    user = new_user()
    pbx.rows.add_account(user, "pw", networks=["10.1.0.0/16", "127.0.0.3/32"])
    allowed = register(pbx, user, "pw", source="127.0.0.3")
    assert allowed.code == 200, allowed.output
    denied = register(pbx, user, "pw", source="127.0.0.2")
    assert (denied.code, denied.reason) == (403, "Source address not allowed"), denied.output
    pbx.rows.set_networks(user, [])  # sb_acl without sb_net: nothing is allowed
    nothing = register(pbx, user, "pw", source="127.0.0.3")
    assert (nothing.code, nothing.reason) == (403, "Source address not allowed"), nothing.output


def test_changes_take_effect_on_the_next_request_without_reload(pbx):
    user = new_user()
    pbx.rows.add_account(user, "old")
    assert register(pbx, user, "old").code == 200

    started = time.monotonic()
    pbx.rows.set_disabled(user, True)
    assert register(pbx, user, "old").reason == "Account disabled"
    pbx.rows.set_disabled(user, False)
    assert register(pbx, user, "old").code == 200

    pbx.rows.set_password(user, "new")
    assert register(pbx, user, "old").code in (401, 403)
    assert register(pbx, user, "new").code == 200

    pbx.rows.set_networks(user, ["127.0.0.4/32"])
    assert register(pbx, user, "new", source="127.0.0.2").reason == "Source address not allowed"
    assert register(pbx, user, "new", source="127.0.0.4").code == 200
    pbx.rows.set_networks(user, None)
    assert register(pbx, user, "new", source="127.0.0.2").code == 200
    # every change was seen by the very next REGISTER: no reload, no cache
    assert time.monotonic() - started < 5


def test_options_to_any_number_reaches_the_registered_baresip(pbx, tmp_path):
    user, primary, secondary = new_user(), "+3904%s" % next(_ids), "%d" % (100 + next(_ids))
    pbx.rows.add_account(user, "pw-bs", numbers=[primary, secondary])
    with Baresip(tmp_path / "baresip", DOMAIN, pbx.sip_port, user, "pw-bs", local_ip="127.0.0.6") as phone:
        assert phone.wait_registered() == (200, "OK"), phone.log()
        [contact] = contacts_of(pbx, user)
        assert contact["source"] == "127.0.0.6:%d" % phone.local_port
        for target in (secondary, primary, user):
            reply = sip_options(DOMAIN, pbx.sip_port, target, local_ip="127.0.0.5")
            assert reply.code == 200, (target, reply.output)
        added = "%d" % (500 + next(_ids))
        assert sip_options(DOMAIN, pbx.sip_port, added, local_ip="127.0.0.5").code == 404
        pbx.rows.add_number(user, added)  # a new alias works on the next request
        assert sip_options(DOMAIN, pbx.sip_port, added, local_ip="127.0.0.5").code == 200
        pbx.rows.remove_number(added)
        assert sip_options(DOMAIN, pbx.sip_port, added, local_ip="127.0.0.5").code == 404


def test_baresip_is_refused_when_disabled(pbx, tmp_path):
    user = new_user()
    pbx.rows.add_account(user, "pw", disabled=True)
    with Baresip(tmp_path / "baresip", DOMAIN, pbx.sip_port, user, "pw", local_ip="127.0.0.7") as phone:
        assert phone.wait_registered() == (403, "Account disabled"), phone.log()


def test_unknown_number_is_404_and_offline_account_is_480(pbx):
    unknown = sip_options(DOMAIN, pbx.sip_port, "+3999%s" % next(_ids), local_ip="127.0.0.5")
    assert (unknown.code, unknown.reason) == (404, "Not Found"), unknown.output
    user, number = new_user(), "+3905%s" % next(_ids)
    pbx.rows.add_account(user, "pw", numbers=[number])
    offline = sip_options(DOMAIN, pbx.sip_port, number, local_ip="127.0.0.5")
    assert (offline.code, offline.reason) == (480, "Temporarily Unavailable"), offline.output
    server = sip_options(DOMAIN, pbx.sip_port, None, local_ip="127.0.0.5")
    assert server.code == 200, server.output


def test_reads_do_not_wait_for_an_open_write_transaction(pbx):
    """SQLite in WAL mode: Kamailio reads the last committed rows while the
    engine holds a write transaction (PostgreSQL: MVCC, the same)."""
    user = new_user()
    pbx.rows.add_account(user, "pw")
    if pbx.engine == "sqlite":
        writer = sqlite3.connect(sqlite_path(pbx.dsn), isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO grp (username, domain, grp) VALUES (?, ?, 'disabled')", (user, DOMAIN))
    else:
        import psycopg2
        writer = psycopg2.connect(pbx.dsn)
        writer.cursor().execute("INSERT INTO grp (username, domain, grp) VALUES (%s, %s, 'disabled')", (user, DOMAIN))
    try:
        assert register(pbx, user, "pw").code == 200  # uncommitted: not visible yet
        writer.execute("COMMIT") if pbx.engine == "sqlite" else writer.commit()
        assert register(pbx, user, "pw").reason == "Account disabled"
    finally:
        writer.close()


def test_rpc_unreachable_raises_rpc_unavailable():
    port = free_port("127.0.0.1", ("tcp",))
    with pytest.raises(rpc.RpcUnavailable):
        rpc.KamailioRpc("http://127.0.0.1:%d/RPC" % port, timeout=1).registered_contacts()
