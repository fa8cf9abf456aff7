"""This checkout's `switchboard` command, run for real as a child process. It is started from this repository's
switchboard_cli (the venv's console script is an editable install of whichever checkout ran `make setup`), with
the test runner's own SWITCHBOARD_* settings and vault password file left out so that a shell never leaks in."""

import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
LAUNCHER = "import sys; sys.path.insert(0, %r); from switchboard_cli.main import main; main()" % str(REPO)
TIMEOUT = 600


def switchboard_env(**settings):
    """This process's environment without its switchboard settings, plus ``settings``."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SWITCHBOARD_") and k != "ANSIBLE_VAULT_PASSWORD_FILE"}
    env.update({k: str(v) for k, v in settings.items()})
    return env


def completed(args, env=None, cwd=None, timeout=TIMEOUT):
    """The CompletedProcess of `switchboard ARGS` (text output); ``env`` is added to switchboard_env()."""
    return subprocess.run([sys.executable, "-c", LAUNCHER] + [str(a) for a in args], env=switchboard_env(**(env or {})),
                          cwd=cwd or REPO, capture_output=True, text=True, timeout=timeout, check=False)


def run_switchboard(args, env=None, cwd=None, expect_rc=None):
    """(returncode, stdout, stderr); with ``expect_rc``, asserts it (showing both streams when it differs)."""
    done = completed(args, env, cwd)
    if expect_rc is not None:
        assert done.returncode == expect_rc, "rc %d\n--- stdout\n%s\n--- stderr\n%s" % (
            done.returncode, done.stdout, done.stderr)
    return done.returncode, done.stdout, done.stderr
