# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""roles/sms_gateway through the real ansible-playbook: Kannel configured, started under PID files,
an SMS through it reaches fakesmsc, a re-run changes nothing, state stopped stops every process."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from conftest import recap_changed  # noqa: E402
from ansible_collections.switchboard.pbx.plugins.module_utils.sms.config import open_gateway  # noqa: E402
from ansible_collections.switchboard.pbx.plugins.module_utils.sms.gateway import Message  # noqa: E402
from support import kannel as kannel_support  # noqa: E402
from support.ports import free_port  # noqa: E402

ADMIN_PASSWORD, SENDSMS_PASSWORD = "Role-Admin-Secret-1", "Role-Sendsms-Secret-2"


def alive(pid):
    try:
        return Path("/proc/%d/stat" % pid).read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_role_runs_kannel_that_delivers_and_stops_by_pid(playbook, tmp_path):
    if not kannel_support.available():
        pytest.fail("Kannel is not installed (make test installs kannel and kannel-extras)")
    base = tmp_path / "kannel"
    admin, box, sendsms, smsc = (free_port("127.0.0.1", ("tcp",)) for _port in range(4))
    site = tmp_path / "sms_gateway.yml"
    site.write_text("- hosts: all\n  gather_facts: false\n  roles:\n    - role: switchboard.pbx.sms_gateway\n")
    role_vars = {
        "sms_gateway_install_packages": False, "sms_gateway_config_path": str(base / "etc" / "kannel.conf"),
        "sms_gateway_spool_dir": str(base / "spool"), "sms_gateway_log_dir": str(base / "log"),
        "sms_gateway_run_dir": str(base / "run"), "sms_gateway_admin_port": admin, "sms_gateway_box_port": box,
        "sms_gateway_sendsms_port": sendsms, "sms_gateway_admin_password": ADMIN_PASSWORD,
        "sms_gateway_sendsms_password": SENDSMS_PASSWORD,
        "sms_gateway_smscs": [{"smsc": "fake", "smsc-id": "FAKE", "allowed-smsc-id": "FAKE", "our-host": "127.0.0.1",
                               "port": smsc, "connect-allow-ip": "127.0.0.1"}],
    }
    run_dir = base / "run"
    try:
        assert recap_changed(playbook.run(playbook=str(site), extra_vars=role_vars)) > 0
        pids = {path.stem: int(path.read_text()) for path in run_dir.glob("*.pid")}
        assert sorted(pids) == ["bearerbox", "fakesmsc-%d" % smsc, "smsbox"]
        assert stat.S_IMODE(os.stat(base / "etc" / "kannel.conf").st_mode) == 0o600

        url = "kannel://switchboard@127.0.0.1:%d?smsc=FAKE" % sendsms
        with open_gateway(url, password=SENDSMS_PASSWORD) as gateway:
            outcome = gateway.send(Message("role-1", "+393471234567", "installation", "from the role's Kannel"))
        assert (outcome.status, outcome.reason) == ("accepted", "HTTP 202: 0: Accepted for delivery")

        assert recap_changed(playbook.run(playbook=str(site), extra_vars=role_vars)) == 0
        assert {path.stem: int(path.read_text()) for path in run_dir.glob("*.pid")} == pids

        log = (base / "log" / ("fakesmsc-%d.log" % smsc)).read_text()
        received = [line for line in log.splitlines() if kannel_support.RECEIVED_LINE.search(line)]
        assert len(received) == 1 and received[0].endswith("<Switchboard +393471234567 text from the role's Kannel>")
        # only the phone side holds the text: an activation SMS's text is a one-time link
        gateway_logs = [path for path in (base / "log").iterdir() if not path.name.startswith("fakesmsc")]
        assert {path.name for path in gateway_logs} >= {"smsbox.log", "smsbox.out", "bearerbox.log"}
        assert not [path.name for path in gateway_logs if "from the role's Kannel" in path.read_text("utf-8", "replace")]
    finally:
        playbook.run(playbook=str(site), extra_vars=dict(role_vars, sms_gateway_state="stopped"))
    assert not list(run_dir.glob("*.pid"))
    assert not [name for name, pid in pids.items() if alive(pid)]
    for text in playbook.outputs:
        assert ADMIN_PASSWORD not in text and SENDSMS_PASSWORD not in text
