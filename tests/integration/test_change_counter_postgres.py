"""On PostgreSQL the change counter moves once per writing transaction, however many statements it runs (a
per-statement count made a 10k-account apply quadratic), and a write made by hand in its own transaction still
moves it, so an unchanged run never hides it. Real PostgreSQL, writes by hand with SQL."""

import dataclasses
import itertools

import pytest

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx import change_counter
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.database import transaction

STATE = {"groups": [{"name": "office"}],
         "accounts": [{"number": "+390212345601", "group": "office", "type": "snom", "username": "7001",
                       "password": "Desk-5601-pw"}]}


_databases = itertools.count(1)
# What databases made before the once-per-transaction count have (change_counter.py until then).
PER_STATEMENT_FUNCTION = """CREATE OR REPLACE FUNCTION sb_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sb_meta SET value = (value::bigint + 1)::text WHERE name = 'changes';
    RETURN NULL;
END $$"""


@pytest.fixture
def applied(tmp_path, pg_cluster):
    dsn = pg_cluster.new_database("counter_once_%d" % next(_databases))
    write_state(tmp_path / "state", {"s.yml": STATE})
    engine.run(engine.Options(str(tmp_path / "state"), dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))
    return dsn


def counter(dsn):
    return int(db_rows(dsn, "SELECT value FROM sb_meta WHERE name = 'changes'")[0][0])


def by_hand(dsn, *statements):
    with transaction(dsn) as db:
        for sql in statements:
            db.execute(sql)


def test_a_transaction_moves_the_counter_once_and_every_committed_one_moves_it(applied):
    before = counter(applied)
    by_hand(applied, *["UPDATE usr_preferences SET value = value WHERE username = '7001'"] * 50,
            "INSERT INTO grp (username, domain, grp) VALUES ('7001', '%s', 'disabled')" % SIP_DOMAIN)
    assert counter(applied) == before + 1
    by_hand(applied, "DELETE FROM grp WHERE username = '7001' AND grp = 'disabled'")
    assert counter(applied) == before + 2


def test_an_unchanged_run_sees_a_second_write_by_hand(tmp_path, applied):
    options = engine.Options(str(tmp_path / "state"), applied, SIP_DOMAIN, report_dir=str(tmp_path / "reports"))
    assert "unchanged_since" in engine.run(options)
    by_hand(applied, "INSERT INTO grp (username, domain, grp) VALUES ('7001', '%s', 'disabled')" % SIP_DOMAIN)
    healed = engine.run(options)
    assert "unchanged_since" not in healed and healed["message"] == "updated 1 account"
    by_hand(applied, "UPDATE subscriber SET ha1 = 'x' WHERE username = '7001'")
    assert "unchanged_since" not in engine.run(dataclasses.replace(options, check_mode=True))


def test_a_database_with_the_per_statement_function_gets_the_new_one(applied):
    by_hand(applied, PER_STATEMENT_FUNCTION)
    before = counter(applied)
    by_hand(applied, *["UPDATE sb_groups SET data = data"] * 3)
    assert counter(applied) == before + 3  # the old function counts statements
    with transaction(applied) as db:
        change_counter.ensure(db)
    before = counter(applied)
    by_hand(applied, *["UPDATE sb_groups SET data = data"] * 3)
    assert counter(applied) == before + 1
