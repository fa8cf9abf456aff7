"""Hostile state files through real ansible-playbook runs: the controller side (the action plugin reads
the state dir too) and the module refuse them promptly, by name and line, and write nothing."""

import os
import time

from conftest import recap_changed, sqlite_rows, write_state

GROUPS = "groups:\n  - name: office\n"


def laughs():
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, 10):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append("%s: &%s [%s]" % (name, name, ", ".join(["*" + previous] * 10)))
    return "\n".join(lines) + "\npassword: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3132\n"


def test_a_billion_laughs_a_fifo_and_a_repeated_key_fail_fast_and_write_nothing(playbook):
    write_state(playbook.state_dir, {"laughs.yml": laughs(), "org.yml": GROUPS + "groups: []\n"})
    os.mkfifo(playbook.state_dir / "accounts.yml")
    started = time.monotonic()
    output = playbook.run(expect_rc=2)
    assert time.monotonic() - started < 60
    for problem in (
            "accounts.yml: is a FIFO (named pipe), not a regular file (rule: state files are regular files)",
            "laughs.yml: line 9, column 4: aliases would expand this file to 12345679023 values, more than 100132 (4 "
            "times the 33 it spells out, plus 100000); the value anchored here has 1111111111 (rule: state files are "
            "bounded)",
            "org.yml: line 3, column 1: 'groups' is written twice in the same mapping (first on line 1): the last one "
            "would silently replace the first (rule: keys are unique in a mapping)"):
        assert problem in output
    assert not os.path.exists(playbook.dsn[len("sqlite://"):])


def test_upper_case_and_symlinked_state_files_are_applied_not_ignored(playbook, tmp_path):
    elsewhere = write_state(tmp_path / "team-b", {"accounts.YAML": "accounts:\n  - number: '+390212345601'\n"
                                                                   "    group: office\n    username: '7001'\n"
                                                                   "    password: Long-Enough-1\n"})
    write_state(playbook.state_dir, {"ORG.YML": GROUPS})
    os.symlink(elsewhere, playbook.state_dir / "team-b")
    assert recap_changed(playbook.run()) == 1
    assert sqlite_rows(playbook.dsn, "SELECT number FROM sb_accounts") == [("+390212345601",)]
    # Overridden mode sees the same files: nothing declared there is deleted.
    assert recap_changed(playbook.run(mode="overridden")) == 0
    assert sqlite_rows(playbook.dsn, "SELECT number FROM sb_accounts") == [("+390212345601",)]
