"""The content-hash cache gives the same declared state as a fresh parse, and never hides a problem."""

import pytest

from conftest import write_state
from ansible_collections.switchboard.pbx.plugins.module_utils.declared import load as load_declared
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState
from ansible_collections.switchboard.pbx.plugins.module_utils.loader import VaultValue

VAULTED = """groups: [{name: office}]
accounts:
  - number: "+390212345601"
    group: office
    password: !vault |
      $ANSIBLE_VAULT;1.1;AES256
      3132
"""


def cached_files(directory):
    return sorted(p.name for p in directory.rglob("*.json"))


def test_cached_load_equals_fresh_load(tmp_path):
    state = write_state(tmp_path / "state", {"a.yml": VAULTED, "b.yml": {"accounts": [
        {"number": "+390212345602", "group": "office", "username": "7002"}]}, "c.yml": {"accounts": [
            {"number": "+390212345603", "group": "office", "password": "Plain-Text-Secret"}]}})
    fresh, _warnings = load_declared(str(state), str(tmp_path / "cache"))
    assert len(cached_files(tmp_path / "cache")) == 2  # not c.yml: plain-text passwords are not copied
    assert not any("Plain-Text-Secret" in p.read_text() for p in (tmp_path / "cache").rglob("*.json"))
    again, _warnings = load_declared(str(state), str(tmp_path / "cache"))
    assert again.entries == fresh.entries
    password = again.by_key("accounts")["+390212345601"].password
    assert isinstance(password, VaultValue) and password.ciphertext.startswith("$ANSIBLE_VAULT")


def test_invalid_files_are_not_cached(tmp_path):
    state = write_state(tmp_path / "state", {"a.yml": {"accounts": [{"number": 12, "group": "office"}]}})
    for _attempt in range(2):
        with pytest.raises(InvalidState, match="12 is not a string"):
            load_declared(str(state), str(tmp_path / "cache"))
    assert cached_files(tmp_path / "cache") == []


def test_a_changed_file_is_parsed_again(tmp_path):
    state = write_state(tmp_path / "state", {"a.yml": {"groups": [{"name": "office"}]}})
    load_declared(str(state), str(tmp_path / "cache"))
    write_state(state, {"a.yml": {"groups": [{"name": "office", "description": "Milan"}]}})
    declared, _warnings = load_declared(str(state), str(tmp_path / "cache"))
    assert declared.objects("groups")["office"]["description"] == "Milan"
