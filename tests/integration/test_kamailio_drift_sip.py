# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""An undeclared subscriber row is a credential the real Kamailio accepts: overridden mode removes it and
drops the registration made with it, and the real client is refused from then on."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conftest import db_rows  # noqa: E402
from support.kamailio import KamailioServer  # noqa: E402
from support.platform import DeclaredPlatform  # noqa: E402
from support.sip import sipsak_register  # noqa: E402
from ansible_collections.switchboard.pbx.plugins.module_utils import engine  # noqa: E402

DOMAIN = "127.0.0.1"
INTRUDER, INTRUDER_PASSWORD = "99001", "Intruder-pass-1"


@pytest.fixture(params=["sqlite", "postgres"])
def pbx(request, tmp_path):
    if request.param == "sqlite":
        dsn = "sqlite://%s" % (tmp_path / "pbx.sqlite")
    else:
        dsn = request.getfixturevalue("pg_cluster").new_database("drift_sip_%s" % tmp_path.name.replace("-", "_"))
    rows = DeclaredPlatform(dsn, DOMAIN, tmp_path)
    server = KamailioServer(dsn, tmp_path, sip_domain=DOMAIN).start()
    rows.rpc_url = server.rpc.url
    server.rows = rows
    yield server
    server.stop()


def test_an_undeclared_credential_is_removed_in_overridden_mode_and_its_registration_dropped(pbx):
    pbx.rows.add_account("70001", "Declared-pass-1", numbers=["+390212340001"])
    ha1 = hashlib.md5(("%s:%s:%s" % (INTRUDER, DOMAIN, INTRUDER_PASSWORD)).encode()).hexdigest()
    db_rows(pbx.dsn, "INSERT INTO subscriber (username, domain, ha1, ha1b) VALUES (?, ?, ?, '')", (INTRUDER, DOMAIN, ha1))
    reply = sipsak_register(DOMAIN, pbx.sip_port, INTRUDER, INTRUDER_PASSWORD, local_ip="127.0.0.2")
    assert reply.code == 200, reply.output  # the threat: Kamailio accepts a credential nobody declared
    assert [c["username"] for c in pbx.rpc.registered_contacts()] == [INTRUDER]

    merged = pbx.rows.apply()
    assert merged["changes"] == [] and merged["warnings"][-1] == (
        "1 Kamailio row that no account owns stays in merged mode (overridden mode removes them): "
        "kamailio/subscriber/99001@127.0.0.1 (no account has username '99001': Kamailio would accept this credential)")

    result = engine.run(engine.Options(str(pbx.rows.state_dir), pbx.dsn, DOMAIN, mode="overridden",
                                       passwords=dict(pbx.rows.passwords), report_dir=str(pbx.rows.report_dir),
                                       rpc_url=pbx.rows.rpc_url))
    assert result["changes"] == ["delete kamailio/subscriber/99001@127.0.0.1 (no account has username '99001': "
                                 "Kamailio would accept this credential)"]
    assert result["server"]["unregistered"] == [INTRUDER]
    assert pbx.rpc.registered_contacts() == []
    refused = sipsak_register(DOMAIN, pbx.sip_port, INTRUDER, INTRUDER_PASSWORD, local_ip="127.0.0.2")
    assert refused.code in (401, 403), refused.output
    assert sipsak_register(DOMAIN, pbx.sip_port, "70001", "Declared-pass-1", local_ip="127.0.0.3").code == 200
