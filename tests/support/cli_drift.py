"""Runs this worktree's `switchboard` command for real, as a subprocess (the venv's console script is installed
from another checkout, so the command is started from this one's switchboard_cli)."""

import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
LAUNCH = "import sys; sys.path.insert(0, %r); from switchboard_cli.main import main; main()" % str(REPO)


def run_switchboard(args, env=None, cwd=None, timeout=300):
    """CompletedProcess of `switchboard ARGS` with ``env`` added to a clean copy of this environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-c", LAUNCH] + list(args), env=environment, cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=timeout, check=False)
