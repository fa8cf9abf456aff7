"""If only the module process dies (OOM killer, kill -9), its forked file checkers must not live on holding
Ansible's pipes: ansible-playbook fails promptly and no child of the module remains."""

import json
import os
import signal
import subprocess
import sys
import time

from bench.generate import generate
from conftest import REPO, SIP_DOMAIN, Playbook
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx import database

MODULE_PAYLOAD = "AnsiballZ_platform.py"


def processes():
    """pid -> (parent pid, command line) for every process."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % entry, "rb") as handle:
                command = handle.read().replace(b"\0", b" ").decode(errors="replace")
            with open("/proc/%s/stat" % entry) as handle:
                parent = int(handle.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        found[int(entry)] = (parent, command)
    return found


def alive(pid):
    """Running, not a zombie: killed children are reaped by PID 1, which in some containers takes its time."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def module_and_checkers(under):
    """The module process (running Ansible's payload, below ``under``) once it has forked its file checkers."""
    table = processes()
    for pid, (parent, command) in table.items():
        if _runs_payload(command) and not _runs_payload(table.get(parent, (0, ""))[1]) and _descends(pid, under, table):
            children = [child for child, (p, c) in table.items() if p == pid and _runs_payload(c)]
            if children:
                return pid, children
    return None


def _runs_payload(command):
    """Python running the payload (Ansible starts it through /bin/sh -c, whose command line names it too)."""
    return MODULE_PAYLOAD in command and not command.startswith("/bin/sh")


def _descends(pid, ancestor, table):
    while pid > 1:
        if pid == ancestor:
            return True
        pid = table.get(pid, (0, ""))[0]
    return False


def test_killing_the_module_kills_its_file_checkers_and_the_playbook_fails_promptly(tmp_path):
    dsn = "sqlite:///%s" % (tmp_path / "db" / "pbx.sqlite")
    database.initialise(dsn)  # an existing database: the state files are checked in forked processes
    playbook = Playbook(tmp_path, dsn)
    generate(str(playbook.state_dir), 30000)  # seconds of parsing, on a cold cache
    env = playbook.env()
    env["XDG_CACHE_HOME"] = str(tmp_path / "cold-cache")
    env["TMPDIR"] = str(tmp_path)  # the killed module cannot remove the payload directory Ansible unpacked for it
    variables = {"switchboard_state_dir": str(playbook.state_dir), "switchboard_pbx_dsn": dsn,
                 "switchboard_sip_domain": SIP_DOMAIN, "switchboard_report_dir": str(playbook.report_dir)}
    output = open(tmp_path / "output.txt", "w")
    run = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i",
                            str(playbook.inventory), str(REPO / "playbooks/site.yml"), "-e", json.dumps(variables)],
                           cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        found = None
        while found is None:
            assert time.monotonic() < deadline and run.poll() is None, (tmp_path / "output.txt").read_text()
            time.sleep(0.1)
            found = module_and_checkers(run.pid)
        module, checkers = found
        time.sleep(0.5)  # the checkers are at work
        os.kill(module, signal.SIGKILL)
        killed = time.monotonic()
        run.wait(timeout=60)
        assert time.monotonic() - killed < 5, "ansible-playbook waited %.1f s" % (time.monotonic() - killed)
        assert run.returncode != 0
        assert "\"module_stderr\": \"Killed\\n\"" in (tmp_path / "output.txt").read_text()
        time.sleep(0.5)
        assert [pid for pid in checkers if alive(pid)] == []
    finally:
        if run.poll() is None:
            run.kill()
        output.close()
