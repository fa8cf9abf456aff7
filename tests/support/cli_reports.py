"""Run the real `switchboard` command of THIS checkout as a subprocess (the venv's console script may point at
another checkout's switchboard_cli). The lead keeps one such helper after the merge."""

import os
import subprocess
import sys

from conftest import REPO

LAUNCHER = "import sys; sys.path.insert(0, %r); from switchboard_cli.main import main; main()" % str(REPO)


def run_switchboard(args, env=None, cwd=None):
    """(returncode, stdout, stderr) of `switchboard ARGS`, without the developer's SWITCHBOARD_* settings."""
    env = env or {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    done = subprocess.run([sys.executable, "-c", LAUNCHER] + [str(a) for a in args], env=env, cwd=cwd or REPO,
                          capture_output=True, text=True, timeout=120, check=False)
    return done.returncode, done.stdout, done.stderr
