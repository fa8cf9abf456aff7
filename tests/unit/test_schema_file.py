"""schemas/state.schema.json (for editors) is the schema the engine enforces; the demo state obeys it."""

import json

from conftest import DEMO_STATE, REPO
from ansible_collections.switchboard.pbx.plugins.module_utils.declared import load as load_declared
from ansible_collections.switchboard.pbx.plugins.module_utils.state_schema import STATE_FILE


def test_published_schema_is_the_enforced_one():
    assert json.loads((REPO / "schemas" / "state.schema.json").read_text()) == STATE_FILE, "run `make schema`"


def test_demo_state_is_valid():
    declared, warnings = load_declared(str(DEMO_STATE))
    assert len(declared.entries["accounts"]) == 5
    assert any("keepalive is on" in w for w in warnings)
