"""The platform read fetches PostgreSQL's rows in batches (Database.query_batched): every row arrives, whatever
the batch size, inside a transaction and outside one; SQLite reads the same."""

import pytest

from conftest import SIP_DOMAIN, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx import database
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.database import Session
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.store import read_actual

NUMBERS = ["+39021234560%d" % i for i in range(1, 6)]


@pytest.fixture
def five_accounts(tmp_path, pbx_dsn):
    accounts = [{"number": n, "group": "office", "type": "snom", "password": "Desk-%s-pw" % n[-4:]} for n in NUMBERS]
    state = write_state(tmp_path / "state", {"s.yml": {"groups": [{"name": "office"}], "accounts": accounts}})
    engine.run(engine.Options(str(state), pbx_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))
    return pbx_dsn


@pytest.mark.parametrize("batch", [1, 2, 5, 10000])
def test_every_row_arrives_whatever_the_batch_size(five_accounts, monkeypatch, batch):
    monkeypatch.setattr(database, "BATCH_ROWS", batch)
    with Session(five_accounts, SIP_DOMAIN) as pbx, pbx.reading() as db:
        actual = read_actual(db, SIP_DOMAIN)
        assert db.query_batched("SELECT alias_username FROM dbaliases ORDER BY 1") == [(n,) for n in NUMBERS]
    assert sorted(actual.objects["accounts"]) == NUMBERS
    assert sorted(rows.main_number for rows in actual.pbx.values()) == NUMBERS
    assert actual.unknown_rows == []


def test_outside_a_transaction_it_is_a_plain_query(five_accounts, monkeypatch):
    monkeypatch.setattr(database, "BATCH_ROWS", 2)
    with Session(five_accounts, SIP_DOMAIN) as pbx:
        with pbx.reading() as db:
            pass  # rolled back: no transaction is left open
        assert db.query_batched("SELECT number FROM sb_accounts WHERE number > ? ORDER BY 1", (NUMBERS[1],)) == [
            (n,) for n in NUMBERS[2:]]
