"""trusted_peers in the state, and the caller-ID / voice_channels rows Kamailio enforces: what the engine
writes into Kamailio's tables (address, usr_preferences), how drift there is found and repaired, and the
rules that refuse a bad peer, on SQLite and PostgreSQL."""

import pytest

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine, gather
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState

CARRIER = {"name": "carrier", "address": "192.0.2.10", "description": "inbound SIP trunk"}
GATEWAY = {"name": "gateway", "address": "198.51.100.0/24"}
ACCOUNT = {"number": "+390212345601", "group": "office", "type": "snom", "username": "7001",
           "password": "Desk-5601-pw", "secondary_number": "+390212345611", "voice_channels": 2}


def apply(tmp_path, dsn, peers, accounts=(), mode="merged", check=False):
    state = write_state(tmp_path / "state", {"s.yml": {"groups": [{"name": "office"}], "accounts": list(accounts),
                                                       "trusted_peers": list(peers)}})
    return engine.run(engine.Options(str(state), dsn, SIP_DOMAIN, mode=mode, check_mode=check,
                                     report_dir=str(tmp_path / "reports")))


def addresses(dsn):
    return db_rows(dsn, "SELECT grp, ip_addr, mask, port, tag FROM address ORDER BY tag")


def test_trusted_peers_are_written_to_the_address_table_and_read_back(tmp_path, pbx_dsn):
    assert apply(tmp_path, pbx_dsn, [CARRIER, GATEWAY], check=True)["changes"] == [
        "create groups/office", "create trusted_peers/carrier", "create trusted_peers/gateway"]
    result = apply(tmp_path, pbx_dsn, [CARRIER, GATEWAY])
    assert result["summary"] == {"groups": {"create": 1}, "trusted_peers": {"create": 2}}
    assert "server" not in result  # no rpc_url: nothing was told ...
    assert result["warnings"] == [  # ... and the operator knows Kamailio keeps its cached list
        "the trusted peers are updated in the database, but no switchboard_pbx_rpc_url is set: Kamailio keeps the "
        "old list until permissions.addressReload or a restart"]
    assert addresses(pbx_dsn) == [(1, "192.0.2.10", 32, 0, "carrier"), (1, "198.51.100.0", 24, 0, "gateway")]
    assert apply(tmp_path, pbx_dsn, [CARRIER, GATEWAY])["changes"] == []
    state = gather.as_state(gather.read(pbx_dsn, SIP_DOMAIN)[0], ["trusted_peers"])
    assert state == {"trusted_peers": [
        {"name": "carrier", "address": "192.0.2.10/32", "description": "inbound SIP trunk"},
        {"name": "gateway", "address": "198.51.100.0/24"}]}

    moved = dict(CARRIER, address="192.0.2.11")
    assert apply(tmp_path, pbx_dsn, [moved, GATEWAY])["changes"] == ["update trusted_peers/carrier (address)"]
    assert addresses(pbx_dsn)[0] == (1, "192.0.2.11", 32, 0, "carrier")
    assert apply(tmp_path, pbx_dsn, [moved], mode="overridden")["changes"] == ["delete trusted_peers/gateway"]
    assert addresses(pbx_dsn) == [(1, "192.0.2.11", 32, 0, "carrier")]
    assert db_rows(pbx_dsn, "SELECT name FROM sb_trusted_peers") == [("carrier",)]


def test_address_rows_changed_behind_the_engine_are_drift(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, [CARRIER])
    db_rows(pbx_dsn, "DELETE FROM address WHERE tag = 'carrier'")
    db_rows(pbx_dsn, "INSERT INTO address (grp, ip_addr, mask, port, tag) VALUES (1, '203.0.113.0', 24, 0, 'rogue')")
    db_rows(pbx_dsn, "INSERT INTO address (grp, ip_addr, mask, port) VALUES (1, '2001:db8::', 32, 0)")
    db_rows(pbx_dsn, "INSERT INTO address (grp, ip_addr, mask, port) VALUES (2, '198.18.0.0', 15, 0)")  # not trusted
    assert apply(tmp_path, pbx_dsn, [CARRIER])["changes"] == ["update trusted_peers/carrier (address)"]
    assert [row for row in addresses(pbx_dsn) if row[4]] == [
        (1, "192.0.2.10", 32, 0, "carrier"), (1, "203.0.113.0", 24, 0, "rogue")]
    # a row nobody declared trusts a source: it is shown, and removed when the state is the whole truth
    shown = gather.as_state(gather.read(pbx_dsn, SIP_DOMAIN)[0], ["trusted_peers"])["trusted_peers"]
    assert shown[1:] == [{"name": "rogue", "address": "203.0.113.0/24"},
                         {"name": "untagged-2001.db8..-32", "address": "2001:db8::/32"}]
    assert apply(tmp_path, pbx_dsn, [CARRIER], mode="overridden")["changes"] == [
        "delete trusted_peers/rogue", "delete trusted_peers/untagged-2001.db8..-32"]
    assert db_rows(pbx_dsn, "SELECT grp, ip_addr, tag FROM address ORDER BY grp") == [
        (1, "192.0.2.10", "carrier"), (2, "198.18.0.0", None)]


@pytest.mark.parametrize("address, message", [
    ("10.0.0.1/33", "s.yml: trusted_peers[0].address: '10.0.0.1/33' is not an IP address or CIDR network: "
                    "'10.0.0.1/33' does not appear to be an IPv4 or IPv6 network "
                    "(rule: trusted peers have an IP address or CIDR)"),
    ("10.0.0.1/24", "s.yml: trusted_peers[0].address: '10.0.0.1/24' is not an IP address or CIDR network: "
                    "10.0.0.1/24 has host bits set (rule: trusted peers have an IP address or CIDR)"),
    ("0.0.0.0/0", "s.yml: trusted_peers[0].address: 0.0.0.0/0 would trust every address on the Internet "
                  "(rule: a trusted peer is a carrier or gateway, not a whole address family)"),
])
def test_a_bad_peer_address_is_refused_and_nothing_is_written(tmp_path, sqlite_dsn, address, message):
    with pytest.raises(InvalidState) as failure:
        apply(tmp_path, sqlite_dsn, [dict(CARRIER, address=address)])
    assert [str(p) for p in failure.value.problems] == [message]
    assert not (tmp_path / "db" / "pbx.sqlite").exists()


def test_a_peer_name_is_declared_once(tmp_path, sqlite_dsn):
    with pytest.raises(InvalidState) as failure:
        apply(tmp_path, sqlite_dsn, [CARRIER, dict(GATEWAY, name="carrier")])
    assert [str(p) for p in failure.value.problems] == [
        "s.yml: trusted_peers[1]: 'carrier' is declared twice (first at s.yml: trusted_peers[0]) "
        "(rule: trusted_peers are unique)"]


def preferences(dsn):
    return db_rows(dsn, "SELECT attribute, value FROM usr_preferences WHERE username = '7001' "
                        "AND attribute IN ('sb_main', 'sb_channels') ORDER BY attribute")


def test_main_number_and_voice_channels_are_kamailio_rows_and_their_drift_is_repaired(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, [], [ACCOUNT])
    assert preferences(pbx_dsn) == [("sb_channels", "2"), ("sb_main", "+390212345601")]
    assert apply(tmp_path, pbx_dsn, [], [ACCOUNT])["changes"] == []

    db_rows(pbx_dsn, "UPDATE usr_preferences SET value = '+390212345611' WHERE attribute = 'sb_main'")
    db_rows(pbx_dsn, "DELETE FROM usr_preferences WHERE attribute = 'sb_channels'")
    assert apply(tmp_path, pbx_dsn, [], [ACCOUNT])["changes"] == [
        "update accounts/+390212345601 (caller ID number, voice channel limit)"]
    assert preferences(pbx_dsn) == [("sb_channels", "2"), ("sb_main", "+390212345601")]

    unlimited = {k: v for k, v in ACCOUNT.items() if k != "voice_channels"}
    assert apply(tmp_path, pbx_dsn, [], [unlimited])["changes"] == [
        "update accounts/+390212345601 (voice_channels, voice channel limit)"]
    assert preferences(pbx_dsn) == [("sb_main", "+390212345601")]
    apply(tmp_path, pbx_dsn, [], [], mode="overridden")
    assert db_rows(pbx_dsn, "SELECT attribute FROM usr_preferences") == []


def test_a_database_made_before_trusted_peers_gets_their_table(tmp_path, pbx_dsn):
    apply(tmp_path, pbx_dsn, [])
    db_rows(pbx_dsn, "DROP TABLE sb_trusted_peers")  # what schema version 2 had: migration 3 adds the table
    for table in ("sb_sms_outbox", "sb_tokens", "sb_history", "sb_client_keys", "sb_applies"):  # migrations 4 and 5's
        db_rows(pbx_dsn, "DROP TABLE %s" % table)
    db_rows(pbx_dsn, "DROP INDEX sb_accounts_last_status_idx")  # migration 6's
    db_rows(pbx_dsn, "UPDATE sb_schema SET version = 2")
    assert apply(tmp_path, pbx_dsn, [CARRIER])["changes"] == ["create trusted_peers/carrier"]
    assert db_rows(pbx_dsn, "SELECT name FROM sb_trusted_peers") == [("carrier",)]
