# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Free loopback ports for test servers (bind port 0, IP addresses only)."""

from __future__ import annotations

import random
import socket
import time

_handed_out = set()


def _bindable(host, port, kinds):
    socks = []
    try:
        for kind in kinds:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if kind == "udp" else socket.SOCK_STREAM)
            socks.append(s)
            if kind == "tcp":
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        for s in socks:
            s.close()


def free_port(host="127.0.0.1", kinds=("udp", "tcp"), below=None):
    """A port free for every protocol in `kinds` on `host`, not handed out before
    by this process (so two servers started in one test run never collide).

    below=10000 picks a 4-digit port: sipsak 0.9.8.1 cuts a 5-digit port in the
    Request-URI and To it writes (sip:x@127.0.0.1:48242 -> ...:4824)."""
    first = kinds[0]
    for _attempt in range(200):
        if below:
            port = random.randrange(2000, below)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if first == "udp" else socket.SOCK_STREAM)
            try:
                s.bind((host, 0))
                port = s.getsockname()[1]
            finally:
                s.close()
        if (host, port) in _handed_out:
            continue
        if _bindable(host, port, kinds):
            _handed_out.add((host, port))
            return port
    raise RuntimeError("no free port on %s for %s" % (host, "+".join(kinds)))


def wait_tcp(host, port, timeout=10.0, alive=None):
    """Wait until a TCP port accepts connections; `alive()` False aborts early."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if alive is not None and not alive():
            return False
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.02)
    return False


def udp_bound(host, port):
    """True when something already listens on UDP host:port."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((host, port))
        return False
    except OSError:
        return True
    finally:
        s.close()
