"""Run this checkout's `switchboard` command for real, as a child process (the venv's console script points at
another checkout's code)."""

import os
import pathlib
import subprocess
import sys

REPO = pathlib.Path(__file__).resolve().parents[2]
ENTRY = "import sys; sys.path.insert(0, %r); from switchboard_cli.main import main; main()" % str(REPO)


def run_switchboard(args, env=None, cwd=None):
    """(exit code, stdout, stderr) of `switchboard ARGS`; ``env`` is added to this process's environment."""
    done = subprocess.run([sys.executable, "-c", ENTRY] + [str(a) for a in args], env=dict(os.environ, **(env or {})),
                          cwd=cwd or REPO, capture_output=True, text=True, timeout=600, check=False)
    return done.returncode, done.stdout, done.stderr
