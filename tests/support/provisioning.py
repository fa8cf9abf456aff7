# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The real provisioning service (python -m provisioning under uvicorn) on a free loopback port, stopped by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .ports import free_port

ROOT = Path(__file__).resolve().parents[2]


class ProvisioningService:
    def __init__(self, dsn, sip_domain, proxy, workdir, port=None, rpc_url=None):
        """port: one reserved beforehand (a profile's base_url names it before the service can start)."""
        self.dsn, self.sip_domain, self.proxy, self.rpc_url = dsn, sip_domain, proxy, rpc_url
        self.log_path = Path(workdir) / "provisioning.log"
        self.port = port
        self.proc = None

    @property
    def base_url(self):
        return "http://127.0.0.1:%d" % self.port

    def log(self):
        return self.log_path.read_text("utf-8", "replace") if self.log_path.exists() else ""

    def start(self, timeout=20.0):
        self.port = self.port or free_port("127.0.0.1", ("tcp",))
        env = dict(os.environ, SWITCHBOARD_PBX_DSN=self.dsn)  # the DSN stays out of the process list
        if self.rpc_url:
            env["SWITCHBOARD_PBX_RPC_URL"] = self.rpc_url
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "provisioning", "--sip-domain", self.sip_domain, "--proxy", self.proxy,
                 "--listen", "127.0.0.1:%d" % self.port], cwd=str(ROOT), env=env, stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if httpx.get(self.base_url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("the provisioning service did not become healthy:\n" + self.log()[-3000:])

    def stop(self, timeout=10.0):
        if self.proc is None or self.proc.poll() is not None:
            return
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
