"""switchboard report: a saved report rendered again through the real command, its exit code the report's own."""

import json

import pytest

from ansible_collections.switchboard.pbx.plugins.module_utils.reports import model, render
from support import report_samples
from support.cli import run_switchboard
from unit.test_report_renderings import GOLDEN


def saved(tmp_path, built, name="saved.json"):
    path = tmp_path / name
    path.write_text(render.rendered(built, "json"), encoding="utf-8")
    return path


def test_a_saved_drift_report_is_written_in_all_four_formats_and_exits_1_for_an_unreadable_object(tmp_path):
    path = saved(tmp_path, report_samples.drift_model())
    rc, out, err = run_switchboard(["report", path, "--format", "json", "--format", "md", "--format", "html",
                                    "--format", "junit", "--output", tmp_path / "out"])
    assert (rc, out) == (1, "")
    assert err.splitlines() == ["wrote %s" % (tmp_path / "out" / name) for name in
                                ("drift.json", "drift.md", "drift.html", "drift.junit.xml")]
    for name in ("drift.json", "drift.md", "drift.html", "drift.junit.xml"):
        assert (tmp_path / "out" / name).read_text(encoding="utf-8") == (GOLDEN / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt, golden", [("md", "plan.md"), ("junit", "plan.junit.xml")])
def test_a_saved_plan_prints_one_format_and_exits_2_for_changes(tmp_path, fmt, golden):
    rc, out, err = run_switchboard(["report", saved(tmp_path, report_samples.plan_model()), "--format", fmt])
    assert (rc, err) == (2, "")
    assert out == (GOLDEN / golden).read_text(encoding="utf-8")


def test_a_report_in_sync_exits_0_and_markdown_is_the_default(tmp_path):
    built = model.build("drift", [model.entry("groups/sales", "in_sync")], report_samples.CONTEXT)
    rc, out, err = run_switchboard(["report", saved(tmp_path, built)])
    assert (rc, err) == (0, "")
    assert out.startswith("## Switchboard drift: in sync (exit code 0): the platform matches the declared state\n")


def _refused(tmp_path, damage):
    built = json.loads(render.rendered(report_samples.drift_model(), "json"))
    damage(built)
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(built))
    rc, out, err = run_switchboard(["report", path, "--format", "html", "--output", tmp_path / "out"])
    assert (rc, out) == (1, "") and not (tmp_path / "out").exists()
    return err.replace(str(path), "FILE")


def test_an_unknown_format_version_is_refused_naming_the_file_and_the_rule(tmp_path):
    assert _refused(tmp_path, lambda m: m.update(format_version=2)) == (
        "switchboard: error: FILE: format_version: 2 is not a version this switchboard renders "
        "(rule: format_version must be 1 (schemas/report.schema.json))\n")


def test_a_summary_that_disagrees_with_its_objects_is_refused(tmp_path):
    def hide_drift(built):
        built["summary"].update(drift=0, exit_code=0)
    assert _refused(tmp_path, hide_drift) == (
        "switchboard: error: FILE: summary: the counts differ from the objects' (drift 0, objects give 3, "
        "exit_code 0, objects give 1) (rule: a report's summary is computed from its objects: the file was edited)\n")


def test_a_report_name_that_would_write_elsewhere_is_refused(tmp_path):
    assert _refused(tmp_path, lambda m: m.update(report="../../escape")) == (
        'switchboard: error: FILE: report: "../../escape" is not one of "plan" or "drift" '
        '(rule: schemas/report.schema.json)\n')


def test_a_password_in_clear_is_refused_without_repeating_it(tmp_path):
    error = _refused(tmp_path, lambda m: m["objects"][1]["after"].update(password="Clear-Text-Secret-1"))
    assert error == ("switchboard: error: FILE: objects[1].after.password: a secret is only ever the mask ******** "
                     "in a report (rule: schemas/report.schema.json)\n")
    error = _refused(tmp_path, lambda m: m["objects"][1]["before"]["acl"][0].update(ha1="0cc175b9c0f1b6a831c399e2697"))
    assert error == ("switchboard: error: FILE: objects[1].before.acl[0].ha1: is not allowed in a report (an HA1 never "
                     "leaves the engine) (rule: schemas/report.schema.json)\n")


def test_not_json_and_several_formats_to_standard_output_are_errors(tmp_path):
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    rc, _out, err = run_switchboard(["report", broken])
    assert rc == 1 and err.startswith("switchboard: error: %s: (document): not JSON: Expecting property name" % broken)
    rc, _out, err = run_switchboard(["report", saved(tmp_path, report_samples.plan_model()), "--format", "md",
                                     "--format", "html"])
    assert (rc, err) == (1, "switchboard: error: several formats need --output DIR (standard output takes one)\n")
