"""The GitOps example's steps (examples/gitops), run locally on a throw-away git repository with the real command:
a branch plans to changes (exit 2), the merge is planned and exactly that plan applied, and the platform then
matches the merged state (exit 0). A plan names the commit it was made from."""

import json
import shutil
import subprocess

import pytest
import yaml

from conftest import DEMO_STATE, SIP_DOMAIN, REPO
from support.cli import run_switchboard, switchboard_env

NEW_ACCOUNT = {"number": "+390212345603", "group": "milano-office", "type": "snom", "username": "4103",
               "owner": "Anna Gialli", "password": "Anna-Gialli-2026"}


def git(repo, *args):
    return subprocess.run(["git", "-C", str(repo)] + list(args), check=True, capture_output=True, text=True,
                          env={"GIT_AUTHOR_NAME": "Ops", "GIT_AUTHOR_EMAIL": "ops@example.com", "HOME": str(repo),
                               "GIT_COMMITTER_NAME": "Ops", "GIT_COMMITTER_EMAIL": "ops@example.com",
                               "PATH": "/usr/bin:/bin"}).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "pbx-state"
    shutil.copytree(DEMO_STATE, repo / "state")
    git(repo, "init", "--quiet", "--initial-branch", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "The company as it is")
    return repo


def test_branch_plan_merge_apply_plan(repo, pbx_dsn, tmp_path):
    env = switchboard_env(SWITCHBOARD_STATE_DIR="state", SWITCHBOARD_PBX_DSN=pbx_dsn,
                          SWITCHBOARD_SIP_DOMAIN=SIP_DOMAIN, SWITCHBOARD_REPORT_DIR=tmp_path / "plans")
    run_switchboard(["apply"], env, cwd=repo, expect_rc=0)  # the platform as main declares it
    run_switchboard(["plan", "--detailed-exitcode"], env, cwd=repo, expect_rc=0)

    git(repo, "checkout", "--quiet", "-b", "add-anna")
    office = repo / "state" / "milano-office.yml"
    declared = yaml.safe_load(office.read_text())
    declared["accounts"].append(NEW_ACCOUNT)
    office.write_text(yaml.safe_dump(declared, sort_keys=False))
    git(repo, "commit", "--quiet", "-am", "Anna joins the Milan office")
    branch_head = git(repo, "rev-parse", "HEAD")
    _rc, out, _err = run_switchboard(["plan", "--detailed-exitcode", "--out", "plan.json"], env, cwd=repo,
                                     expect_rc=2)  # the merge-request job: changes
    assert out.splitlines()[0] == "would create 1 account (check mode: nothing was written)"
    plan = json.loads((repo / "plan.json").read_text())
    assert plan["context"]["state"]["git"]["commit"] == branch_head
    assert [o["address"] for o in plan["objects"]] == ["accounts/+390212345603"]
    assert "Anna-Gialli-2026" not in (repo / "plan.json").read_text()

    git(repo, "checkout", "--quiet", "main")
    git(repo, "merge", "--quiet", "--no-ff", "-m", "Merge add-anna", "add-anna")
    (repo / "plan.json").unlink()
    run_switchboard(["plan", "--detailed-exitcode", "--out", "plan.json"], env, cwd=repo, expect_rc=2)  # plan job
    _rc, out, _err = run_switchboard(["apply", "--plan", "plan.json"], env, cwd=repo, expect_rc=0)  # apply job
    assert out.splitlines()[0] == "created 1 account"
    _rc, out, _err = run_switchboard(["plan", "--detailed-exitcode"], env, cwd=repo, expect_rc=0)
    assert out.splitlines()[0] == "no change planned: the platform matches the declared state"
    _rc, out, _err = run_switchboard(["history", "--format", "json"], env, cwd=repo, expect_rc=0)
    newest = json.loads(out)["applies"][0]  # the audit trail names the door and the merged commit
    assert (newest["door"], newest["state_commit"]) == ("switchboard apply", git(repo, "rev-parse", "HEAD"))


def test_the_examples_serialise_applies_and_apply_the_reviewed_plan():
    gitlab = yaml.safe_load((REPO / "examples" / "gitops" / ".gitlab-ci.yml").read_text())
    assert gitlab["apply"]["resource_group"] == gitlab["plan"]["resource_group"] == "pbx-production"
    assert "switchboard apply --plan plan.json" in gitlab["apply"]["script"]
    github = yaml.safe_load((REPO / "examples" / "gitops" / "github-actions.yml").read_text())
    assert github["jobs"]["apply"]["concurrency"] == {"group": "pbx-production", "cancel-in-progress": False}
    assert any(step.get("run") == "switchboard apply --plan plan.json" for step in github["jobs"]["apply"]["steps"])
