# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Forked helpers (the state loader) die with the module process and never hold Ansible's pipes.

If the module process is killed (OOM killer, kill -9), a child that lived on with the module's
stdout/stderr open would keep ansible-playbook waiting for the end of output, forever.
"""

from __future__ import annotations

import ctypes
import os
import signal

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent_pid):
    """A ProcessPoolExecutor initializer: SIGKILL when the parent dies; stdin/stdout/stderr on /dev/null."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the pipes below are closed all the same
        pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
