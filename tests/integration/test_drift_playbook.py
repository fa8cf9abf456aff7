"""playbooks/drift.yml and plan.yml through the real ansible-playbook: the reports written to the report dir, a
readable summary, a failure on drift only when switchboard_fail_on_drift asks for it, and never a change."""

import json
import shutil

from conftest import DEMO_STATE, file_digest


def demo(playbook):
    shutil.copytree(DEMO_STATE, playbook.state_dir)
    playbook.run()


def drifted(playbook):
    path = playbook.state_dir / "field-sales.yml"
    path.write_text(path.read_text().replace("owner: Marco Bianchi", "owner: Marco Bianchi-Verdi"))


def report(playbook, name):
    return json.loads((playbook.report_dir / name).read_text())


def test_drift_playbook_reports_and_fails_only_when_asked(playbook):
    demo(playbook)
    output = playbook.run(playbook="playbooks/drift.yml")
    total = report(playbook, "drift.json")["summary"]["total"]
    assert '"msg": "no drift: %d objects in sync (coverage 100.0 %%): see %s/drift.html"' % (
        total, playbook.report_dir) in output

    drifted(playbook)
    db_path = playbook.dsn[len("sqlite://"):]
    before = file_digest(db_path)
    sentence = "drift: 1 changed (coverage 100.0 %%): see %s/drift.html" % playbook.report_dir
    output = playbook.run(playbook="playbooks/drift.yml")  # reported, not a failure by default
    assert '"msg": "%s"' % sentence in output and "failed=0" in output
    output = playbook.run(playbook="playbooks/drift.yml", extra_vars={"switchboard_fail_on_drift": True}, expect_rc=2)
    assert 'fatal: [pbx]: FAILED! => {"changed": false, "msg": "%s"}' % sentence in output
    assert sorted(p.name for p in playbook.report_dir.glob("drift.*")) == [
        "drift.html", "drift.json", "drift.junit.xml", "drift.md"]
    assert "+393489876543" in (playbook.report_dir / "drift.md").read_text()
    model = report(playbook, "drift.json")
    [changed] = [o for o in model["objects"] if o["status"] == "changed"]
    assert (changed["address"], changed["fields"]) == ("accounts/+393489876543", ["owner"])
    assert model["context"]["state"]["dir"] == str(playbook.state_dir)
    assert file_digest(db_path) == before  # drift never writes

    # accepted drift, with its reason in the state: in sync for the pipeline, the reason in the report
    (playbook.state_dir / "accepted.yml").write_text(
        "drift_ignore:\n  - address: accounts/+393489876543\n    fields: [owner]\n    reason: renamed by HR, change 7\n")
    output = playbook.run(playbook="playbooks/drift.yml", extra_vars={"switchboard_fail_on_drift": True})
    assert "1 ignored (coverage 100.0 %" in output
    [ignored] = [o for o in report(playbook, "drift.json")["objects"] if o["ignored"]]
    assert ignored["ignored"] == "renamed by HR, change 7"
    for rendering in ("drift.md", "drift.html", "drift.junit.xml"):  # every rendering prints the reason
        assert "renamed by HR, change 7" in (playbook.report_dir / rendering).read_text(), rendering


def test_an_unreadable_row_fails_the_drift_playbook_even_without_fail_on_drift(playbook):
    demo(playbook)
    from conftest import sqlite_rows
    sqlite_rows(playbook.dsn, "UPDATE sb_groups SET data = 'oops' WHERE name = (SELECT MIN(name) FROM sb_groups)")
    output = playbook.run(playbook="playbooks/drift.yml", expect_rc=2)
    assert "1 unreadable (coverage" in output and "Traceback" not in output


def test_plan_playbook_writes_the_plan_as_the_report_model(playbook):
    demo(playbook)
    drifted(playbook)
    output = playbook.run(playbook="playbooks/plan.yml")
    assert "reports: %s/plan.json, %s/plan.md, %s/plan.html, %s/plan.junit.xml" % ((playbook.report_dir,) * 4) in output
    model = report(playbook, "plan.json")
    assert model["report"] == "plan"
    assert [(o["address"], o["status"], o["actions"], o["fields"]) for o in model["objects"]] == [
        ("accounts/+393489876543", "changed", ["update"], ["owner"])]
    assert (model["summary"]["exit_code"], model["context"]["check_mode"]) == (2, True)
    assert model["context"]["platform"]["database"] == {"engine": "sqlite", "path": playbook.dsn[len("sqlite:///"):]}
