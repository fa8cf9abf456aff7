"""Run this worktree's `switchboard` command for real, in a child process (the venv's console script may point
at another checkout: the command is started from this repository's switchboard_cli)."""

import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent.parent
LAUNCH = "import sys; sys.path.insert(0, %r); from switchboard_cli.main import main; main()" % str(REPO)


def run_switchboard(args, env=None, cwd=None, timeout=120):
    """CompletedProcess of `switchboard ARGS` (text stdout/stderr); SWITCHBOARD_* of this process are not passed."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    environment.update(env or {})
    return subprocess.run([sys.executable, "-c", LAUNCH] + [str(a) for a in args], cwd=cwd or REPO, env=environment,
                          capture_output=True, text=True, timeout=timeout, check=False)
