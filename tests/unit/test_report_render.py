"""Reports are written whole or not at all, in the formats asked."""

import json

import pytest

from ansible_collections.switchboard.pbx.plugins.module_utils.errors import SwitchboardError
from ansible_collections.switchboard.pbx.plugins.module_utils.reports import model, render


def test_json_report_is_the_model(tmp_path):
    built = model.build("drift", [model.entry("accounts/+1", "in_sync")], {"at": "2026-11-22T00:00:00Z"})
    [path] = render.write(built, ["json"], str(tmp_path / "out"), "drift")
    assert path.endswith("out/drift.json") and json.loads(open(path).read()) == built


def test_an_unknown_format_writes_nothing(tmp_path):
    built = model.build("drift", [], {})
    with pytest.raises(SwitchboardError, match="unknown report format 'pdf'"):
        render.write(built, ["json", "pdf"], str(tmp_path / "out"), "drift")
    assert not (tmp_path / "out").exists()
