# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""python -m provisioning: the service under uvicorn, checked against its database before it listens.

Every option has an environment variable (the role writes them to a 0600 file): a PostgreSQL password
in --dsn would be visible to every user in the process list, SWITCHBOARD_PBX_DSN is not.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from .app import create_app
from .store import Store, SwitchboardError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def parse_arguments(argv):
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m provisioning", description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", default=env("SWITCHBOARD_PBX_DSN"),
                        help="the PBX database (env SWITCHBOARD_PBX_DSN): sqlite:///ABS/PATH or postgresql://...")
    parser.add_argument("--sip-domain", default=env("SWITCHBOARD_SIP_DOMAIN"),
                        help="the platform's SIP domain, the realm of every HA1 (env SWITCHBOARD_SIP_DOMAIN)")
    parser.add_argument("--proxy", default=env("SWITCHBOARD_SIP_PROXY"),
                        help="the SIP proxy clients register at, as they should dial it (env SWITCHBOARD_SIP_PROXY)")
    parser.add_argument("--listen", default=env("SWITCHBOARD_PROVISIONING_LISTEN", "127.0.0.1:5080"),
                        help="HOST:PORT to listen on (env SWITCHBOARD_PROVISIONING_LISTEN)")
    parser.add_argument("--dlr-clients", default=env("SWITCHBOARD_DLR_CLIENTS", "127.0.0.1,::1"),
                        help="comma-separated addresses allowed to post delivery reports (Kannel's smsbox)")
    parser.add_argument("--rpc-url", default=env("SWITCHBOARD_PBX_RPC_URL"),
                        help="Kamailio's JSON-RPC URL (env SWITCHBOARD_PBX_RPC_URL): an account activated again loses "
                             "the registrations made with its old password")
    parser.add_argument("--lock-timeout", type=float, default=float(env("SWITCHBOARD_PBX_LOCK_TIMEOUT", "10")),
                        help="seconds a request waits for the database's write lock")
    options = parser.parse_args(argv)
    for name in ("dsn", "sip_domain", "proxy"):
        if not getattr(options, name):
            parser.error("--%s is required (or its environment variable)" % name.replace("_", "-"))
    host, _colon, port = options.listen.rpartition(":")
    if not host or not port.isdigit():
        parser.error("--listen must be HOST:PORT, not %r" % options.listen)
    options.host, options.port = host.strip("[]"), int(port)
    return options


def main(argv=None):
    options = parse_arguments(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        Store(options.dsn, options.sip_domain, options.proxy, options.lock_timeout).check()
    except SwitchboardError as exc:
        logging.getLogger("provisioning").error("not starting: %s", exc)
        return 2
    import uvicorn
    app = create_app(options.dsn, options.sip_domain, options.proxy, options.lock_timeout,
                     tuple(a.strip() for a in options.dlr_clients.split(",") if a.strip()), options.rpc_url)
    # access_log off: request paths carry the tokens of the links
    uvicorn.run(app, host=options.host, port=options.port, access_log=False, log_config=None, server_header=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
