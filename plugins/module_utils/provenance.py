# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a declared state came from: the git commit and author of the state directory when it is in a git work
tree, and whether the files differ from that commit (an auditor signs a report about a commit, not a work tree)."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess

GIT_TIMEOUT = 10  # seconds; a state dir on a hung network share must not hang the run


def _git(state_dir, *args):
    try:
        # The engine runs without an AnsibleModule (the CLI, the provisioning service): no run_command here.
        done = subprocess.run(["git", "-C", state_dir] + list(args), capture_output=True, text=True,  # pylint: disable=ansible-bad-function
                              timeout=GIT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def state_provenance(state_dir):
    """{"dir", "git": None | {"commit", "author", "committed_at", "subject", "dirty"}} of a state directory."""
    found = {"dir": os.path.abspath(state_dir) if state_dir else None, "git": None}
    if not state_dir or _git(state_dir, "rev-parse", "--is-inside-work-tree") != "true":
        return found
    head = _git(state_dir, "log", "-1", "--format=%H%x00%an <%ae>%x00%cI%x00%s")
    if not head:
        return found  # a repository without a commit yet
    commit, author, committed_at, subject = head.split("\0", 3)
    dirty = _git(state_dir, "status", "--porcelain", "--", ".")
    found["git"] = {"commit": commit, "author": author, "committed_at": committed_at, "subject": subject,
                    "dirty": bool(dirty)}
    return found


def operator():
    """Who runs this: the login name and the host (an audit trail names a person and a machine)."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "uid %d" % os.getuid()
    return "%s@%s" % (user, socket.gethostname())
