"""SPEC §2: the platform's SIP domain is recorded in the PBX database; a run for another domain (a typo in
the inventory) is refused with both names and writes nothing, instead of duplicating the platform."""

import pytest

from conftest import SIP_DOMAIN, db_rows, file_digest, write_state
from test_schema_migrations import RELEASE_1_UPGRADE_CHANGES, STATE, release_1_database
from ansible_collections.switchboard.pbx.plugins.module_utils import engine, gather
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import SwitchboardError
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx import database

TYPO = "pbx.tset.example"


def refusal(recorded, given):
    return ("the PBX database belongs to the SIP domain %r, this run is for %r (sip_domain, the inventory's "
            "switchboard_sip_domain): every HA1 is made with the domain, a run for another one would duplicate the "
            "platform with new credentials; check the inventory; nothing was written" % (recorded, given))


def run(tmp_path, dsn, domain, check=False):
    return engine.run(engine.Options(str(tmp_path / "state"), dsn, domain, check_mode=check,
                                     report_dir=str(tmp_path / "reports")))


def counts(dsn):
    return [db_rows(dsn, "SELECT count(*) FROM %s" % table)[0][0]
            for table in ("subscriber", "dbaliases", "sb_accounts", "sb_journal", "sb_meta")]


def test_the_first_run_records_the_domain_and_another_domain_is_refused(tmp_path, pbx_dsn):
    write_state(tmp_path / "state", {"s.yml": STATE})
    run(tmp_path, pbx_dsn, SIP_DOMAIN)
    assert db_rows(pbx_dsn, "SELECT value FROM sb_meta WHERE name = 'sip_domain'") == [(SIP_DOMAIN,)]
    before = counts(pbx_dsn)
    for attempt in (lambda: run(tmp_path, pbx_dsn, TYPO), lambda: run(tmp_path, pbx_dsn, TYPO, check=True),
                    lambda: gather.read(pbx_dsn, TYPO)):
        with pytest.raises(SwitchboardError) as failure:
            attempt()
        assert str(failure.value) == refusal(SIP_DOMAIN, TYPO)
    assert counts(pbx_dsn) == before
    assert run(tmp_path, pbx_dsn, SIP_DOMAIN)["changes"] == []


def test_a_release_1_database_records_the_domain_of_its_subscribers(tmp_path, pbx_dsn):
    state_dir = write_state(tmp_path / "state", {"s.yml": STATE})
    release_1_database(pbx_dsn, state_dir)
    if pbx_dsn.startswith("sqlite:"):
        digest = file_digest(database.parse_dsn(pbx_dsn)[1])
    with pytest.raises(SwitchboardError) as failure:
        run(tmp_path, pbx_dsn, TYPO)
    assert str(failure.value) == refusal(SIP_DOMAIN, TYPO)
    if pbx_dsn.startswith("sqlite:"):
        assert file_digest(database.parse_dsn(pbx_dsn)[1]) == digest  # not even the migration was kept
    assert db_rows(pbx_dsn, "SELECT version FROM sb_schema") == [(1,)]

    assert run(tmp_path, pbx_dsn, SIP_DOMAIN)["changes"] == RELEASE_1_UPGRADE_CHANGES
    assert db_rows(pbx_dsn, "SELECT value FROM sb_meta WHERE name = 'sip_domain'") == [(SIP_DOMAIN,)]


def test_an_empty_release_1_database_takes_the_domain_of_its_first_run(tmp_path, pbx_dsn):
    release_1_database(pbx_dsn, write_state(tmp_path / "empty", {"none.yml": "# nothing\n"}))
    write_state(tmp_path / "state", {"s.yml": STATE})
    run(tmp_path, pbx_dsn, "sip.other.example")
    assert db_rows(pbx_dsn, "SELECT value FROM sb_meta WHERE name = 'sip_domain'") == [("sip.other.example",)]


def test_subscribers_in_several_domains_and_none_recorded(tmp_path, pbx_dsn):
    state_dir = write_state(tmp_path / "state", {"s.yml": STATE})
    release_1_database(pbx_dsn, state_dir)
    db_rows(pbx_dsn, "INSERT INTO subscriber (username, domain, password, ha1, ha1b) VALUES ('7001', ?, '', 'x', 'y')",
            (TYPO,))
    with pytest.raises(SwitchboardError) as failure:
        run(tmp_path, pbx_dsn, "third.example")
    assert str(failure.value) == (
        "the PBX database has subscriber rows in several SIP domains ('pbx.test.example', 'pbx.tset.example') and "
        "records none as its own: run once with switchboard_sip_domain set to the platform's domain; nothing was written")
    run(tmp_path, pbx_dsn, SIP_DOMAIN)  # the operator names it: recorded
    assert db_rows(pbx_dsn, "SELECT value FROM sb_meta WHERE name = 'sip_domain'") == [(SIP_DOMAIN,)]


def test_the_domain_is_recorded_even_when_the_schema_was_made_beforehand(tmp_path, pbx_dsn):
    """switchboard.pbx.database (the Kamailio role) makes the schema without knowing the domain."""
    database.initialise(pbx_dsn)
    assert db_rows(pbx_dsn, "SELECT count(*) FROM sb_meta") == [(0,)]
    write_state(tmp_path / "state", {"s.yml": STATE})
    run(tmp_path, pbx_dsn, SIP_DOMAIN, check=True)
    assert db_rows(pbx_dsn, "SELECT count(*) FROM sb_meta") == [(0,)]  # check mode writes nothing
    run(tmp_path, pbx_dsn, SIP_DOMAIN)
    with pytest.raises(SwitchboardError, match="belongs to the SIP domain 'pbx.test.example'"):
        run(tmp_path, pbx_dsn, TYPO)
