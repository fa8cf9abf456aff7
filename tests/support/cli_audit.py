"""Runs this checkout's `switchboard` command as a subprocess (the venv's console script is main's editable install)."""

import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
LAUNCH = 'import sys; sys.path.insert(0, %r); from switchboard_cli.main import main; main()' % str(REPO)


def run_switchboard(args, env=None, cwd=None):
    """The finished process (returncode, stdout, stderr as text); ``env`` is added to this process's environment."""
    return subprocess.run([sys.executable, "-c", LAUNCH] + list(args), cwd=cwd or REPO,
                          env=dict(os.environ, **(env or {})), capture_output=True, text=True, timeout=120, check=False)
