"""The platform read pauses the garbage collector (collector.py) and gives it back, also when a damaged row
stops the read, on SQLite and PostgreSQL."""

import gc

import pytest

from conftest import SIP_DOMAIN, db_rows, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.database import Session
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.store import DamagedRow, read_actual


def test_a_read_stopped_by_a_damaged_row_leaves_the_collector_on(tmp_path, pbx_dsn):
    state = write_state(tmp_path / "state", {"s.yml": {"groups": [{"name": "office"}]}})
    engine.run(engine.Options(str(state), pbx_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports")))
    with Session(pbx_dsn, SIP_DOMAIN) as pbx, pbx.reading() as db:
        assert read_actual(db, SIP_DOMAIN).objects["groups"] == {"office": {
            "name": "office", "description": None, "provisioning_profile": None,
            "ip_listing": {"enabled": False, "allow": []}}}
        assert gc.isenabled()
    db_rows(pbx_dsn, "UPDATE sb_groups SET data = 'not json'")
    with Session(pbx_dsn, SIP_DOMAIN) as pbx, pbx.reading() as db:
        with pytest.raises(DamagedRow) as damaged:
            read_actual(db, SIP_DOMAIN)
        assert gc.isenabled()
    assert str(damaged.value) == ("table sb_groups, row name = 'office' (group office): the data column is not valid "
                                  "JSON (Expecting value: line 1 column 1 (char 0)): repair or delete the row, then "
                                  "run again")
