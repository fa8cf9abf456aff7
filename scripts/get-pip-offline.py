"""Stand-in for pip's get-pip.py bootstrap, which ansible-test downloads from a host outside the package
registries: install the pip that Python bundles (ensurepip), then the pinned packages from PyPI.
The bundled pip predates pip's use of the system trust store, so it is pointed at Debian's CA bundle."""

import ensurepip
import os
import subprocess
import sys

SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"

ensurepip.bootstrap()
packages = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
cert = ["--cert", SYSTEM_CA_BUNDLE] if os.path.exists(SYSTEM_CA_BUNDLE) else []
subprocess.check_call([sys.executable, "-m", "pip", "install"] + cert + packages)
