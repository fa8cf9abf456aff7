"""Run the real `switchboard` command of THIS checkout as a subprocess (the venv's console script may point at
another checkout's switchboard_cli)."""

import os
import subprocess
import sys

from conftest import REPO

LAUNCHER = "import sys; sys.path.insert(0, %r); from switchboard_cli.main import main; main()" % str(REPO)
# What a test's environment must not inherit from the developer's shell.
CLEARED = ("SWITCHBOARD_STATE_DIR", "SWITCHBOARD_PBX_DSN", "SWITCHBOARD_SIP_DOMAIN", "SWITCHBOARD_SECRETS_FILE",
           "SWITCHBOARD_MODE", "SWITCHBOARD_REPORT_DIR", "SWITCHBOARD_INVENTORY", "SWITCHBOARD_HOST",
           "ANSIBLE_VAULT_PASSWORD_FILE", "SWITCHBOARD_SMS_GATEWAY", "SWITCHBOARD_SMS_PASSWORD")


def switchboard_env(**settings):
    env = {k: v for k, v in os.environ.items() if k not in CLEARED}
    env.update({k: str(v) for k, v in settings.items()})
    return env


def run_switchboard(args, env=None, cwd=None, expect_rc=None, **kwargs):
    """(returncode, stdout, stderr); with ``expect_rc``, asserts it (showing both streams when it differs)."""
    done = subprocess.run([sys.executable, "-c", LAUNCHER] + [str(a) for a in args], env=env or switchboard_env(),
                          cwd=cwd or REPO, capture_output=True, text=True, timeout=300, check=False, **kwargs)
    if expect_rc is not None:
        assert done.returncode == expect_rc, "rc %d\n--- stdout\n%s\n--- stderr\n%s" % (
            done.returncode, done.stdout, done.stderr)
    return done.returncode, done.stdout, done.stderr
