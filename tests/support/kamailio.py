# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run the real Kamailio with the role's own config template (roles/kamailio).

    with KamailioServer(dsn, workdir) as k:
        k.sip_port, k.rpc_url, k.rpc.registered_contacts()

The config is rendered with jinja2 from templates/kamailio.cfg.j2 and the role
defaults (plus overrides), checked with `kamailio -c`, started in the
foreground (`-DD -E`) on free loopback ports and stopped by PID.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import jinja2
import yaml

from .ports import free_port, udp_bound, wait_tcp

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "kamailio"
TEMPLATE = ROLE / "templates" / "kamailio.cfg.j2"
KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"


def _load_rpc_module():
    try:
        from ansible_collections.switchboard.pbx.plugins.module_utils.pbx import rpc  # type: ignore
        return rpc
    except ImportError:
        path = ROOT / "plugins" / "module_utils" / "pbx" / "rpc.py"
        spec = importlib.util.spec_from_file_location("switchboard_pbx_rpc", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module


rpc = _load_rpc_module()


def role_vars(**overrides):
    """Role defaults with overrides, templated values resolved like Ansible would."""
    values = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    values.update(overrides)
    env = jinja2.Environment(undefined=jinja2.ChainableUndefined)
    for _round in range(5):
        changed = False
        for key, value in list(values.items()):
            if isinstance(value, str) and "{{" in value:
                rendered = env.from_string(value).render(**values)
                if rendered != value:
                    values[key] = rendered
                    changed = True
        if not changed:
            break
    return values


def render_config(**overrides):
    """The kamailio.cfg text the role would write (Ansible's template defaults: trim_blocks)."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True, keep_trailing_newline=True)
    return env.from_string(TEMPLATE.read_text()).render(**role_vars(**overrides))


def check_config(path):
    """`kamailio -c -f path`: (ok, output)."""
    proc = subprocess.run([KAMAILIO, "-c", "-f", str(path)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          check=False, timeout=30)
    return proc.returncode == 0, proc.stdout.decode("utf-8", "replace")


class KamailioServer:
    """One Kamailio on free loopback ports, using the DB behind `dsn`."""

    def __init__(self, dsn, workdir, sip_domain="127.0.0.1", listen_address="127.0.0.1", **overrides):
        self.dsn = dsn
        self.dir = Path(workdir)
        self.listen_address = listen_address
        self.sip_domain = sip_domain
        self.overrides = overrides
        self.proc = None
        self.sip_port = self.rpc_port = None
        self.config_path = self.dir / "kamailio.cfg"
        self.log_path = self.dir / "kamailio.log"
        self.run_dir = self.dir / "run"
        self.start_seconds = self.stop_seconds = None

    @property
    def rpc_url(self):
        return "http://%s:%d/RPC" % (self.listen_address, self.rpc_port)

    @property
    def rpc(self):
        return rpc.KamailioRpc(self.rpc_url, timeout=5)

    def render(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if self.sip_port is None:
            self.sip_port = free_port(self.listen_address, ("udp", "tcp"), below=10000)  # for sipsak
            self.rpc_port = free_port(self.listen_address, ("tcp",))
        values = dict(
            kamailio_db_dsn=self.dsn,
            kamailio_sip_domain=self.sip_domain,
            kamailio_listen_address=self.listen_address,
            kamailio_sip_port=self.sip_port,
            kamailio_rpc_address=self.listen_address,
            kamailio_rpc_port=self.rpc_port,
            kamailio_run_dir=str(self.run_dir),
            kamailio_log_stderror=True,
            kamailio_children=2,
            kamailio_tcp_children=1,
        )
        values.update(self.overrides)
        self.config_path.write_text(render_config(**values))
        return self.config_path

    def log(self):
        try:
            return self.log_path.read_text("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=10.0):
        self.render()
        ok, output = check_config(self.config_path)
        if not ok:
            raise RuntimeError("kamailio -c failed for %s:\n%s" % (self.config_path, output[-3000:]))
        started = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([KAMAILIO, "-DD", "-E", "-f", str(self.config_path)],
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        ready = wait_tcp(self.listen_address, self.rpc_port, timeout, alive=self.alive)
        while ready and not udp_bound(self.listen_address, self.sip_port):
            if time.monotonic() - started > timeout or not self.alive():
                ready = False
                break
            time.sleep(0.01)
        if ready:
            ready = self._rpc_answers(started + timeout)
        if not ready:
            self.stop()
            raise RuntimeError("kamailio did not become ready in %.1fs:\n%s" % (timeout, self.log()[-4000:]))
        self.start_seconds = time.monotonic() - started
        return self

    def _rpc_answers(self, deadline):
        while time.monotonic() < deadline and self.alive():
            if self.rpc.ping():
                return True
            time.sleep(0.02)
        return False

    def stop(self, timeout=10.0):
        """SIGTERM to the main process (it stops its children), SIGKILL to the group if needed."""
        if self.proc is None:
            return
        started = time.monotonic()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout)
        # children left behind by a crashed main process share its process group
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.stop_seconds = time.monotonic() - started

    def restart(self):
        self.stop()
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
