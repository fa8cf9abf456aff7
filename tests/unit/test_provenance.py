"""The provenance of a state directory: a real git work tree, its commit and author, and local edits."""

import subprocess

from ansible_collections.switchboard.pbx.plugins.module_utils.provenance import state_provenance


def git(cwd, *args):
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


def test_a_state_dir_in_git_names_its_commit_author_and_local_edits(tmp_path):
    state = tmp_path / "repo" / "state"
    state.mkdir(parents=True)
    (state / "accounts.yml").write_text("accounts: []\n")
    git(tmp_path / "repo", "init", "-q")
    git(tmp_path / "repo", "-c", "user.name=Ada Ops", "-c", "user.email=ada@example.org", "add", "-A")
    git(tmp_path / "repo", "-c", "user.name=Ada Ops", "-c", "user.email=ada@example.org", "commit", "-qm", "Add sales")
    found = state_provenance(str(state))["git"]
    assert found["author"] == "Ada Ops <ada@example.org>" and found["subject"] == "Add sales"
    assert len(found["commit"]) == 40 and found["dirty"] is False
    (state / "accounts.yml").write_text("accounts: [] # edited\n")
    assert state_provenance(str(state))["git"]["dirty"] is True


def test_a_state_dir_outside_git_has_no_commit(tmp_path):
    assert state_provenance(str(tmp_path)) == {"dir": str(tmp_path), "git": None}
