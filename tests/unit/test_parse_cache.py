"""The content-hash cache gives the same declared state as a fresh parse, and never hides a problem."""

import pytest

from conftest import write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import declared
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
    """The files cached: each has its document and its model part."""
    documents = sorted(p.name[:-len(".json")] for p in directory.rglob("*.json") if not p.name.endswith(".part.json"))
    assert sorted(p.name[:-len(".part.json")] for p in directory.rglob("*.part.json")) == documents
    return documents


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


def test_worker_processes_fill_the_cache_and_the_model_is_merged_across_files(tmp_path):
    """The file checkers run in worker processes (``meanwhile``): they put their files in the cache and send their
    files' model parts; a wizard account takes the provisioning profile of its group, declared in another file,
    whether its file was checked by a worker or came from the cache."""
    from ansible_collections.switchboard.pbx.plugins.module_utils.declared import Loading

    state = write_state(tmp_path / "state", {
        "a.yml": {"provisioning_profiles": [{"name": "mobile", "base_url": "https://p.example"}],
                  "groups": [{"name": "field", "provisioning_profile": "mobile"}]},
        "b.yml": VAULTED.replace("office", "field").replace("groups: [{name: field}]\n", ""),
        "c.yml": {"accounts": [{"number": "+393471234567", "group": "field", "type": "pgsm", "activation": "wizard",
                                "owner": "Zoë Ærø"}]}})
    with Loading(str(state), str(tmp_path / "cache"), meanwhile=True) as loading:
        assert loading._pool is not None  # the worker processes check the files
        fresh, _warnings = loading.finish()
    assert len(cached_files(tmp_path / "cache")) == 3
    again, _warnings = load_declared(str(state), str(tmp_path / "cache"))
    for declared in (fresh, again):
        wizard = declared.objects("accounts")["+393471234567"]
        assert (wizard["provisioning_profile"], wizard["owner"]) == ("mobile", "Zoë Ærø")
        assert isinstance(declared.by_key("accounts")["+390212345601"].password, VaultValue)
    assert again.entries == fresh.entries


def test_a_cached_part_is_the_part_of_the_file_that_has_the_content(tmp_path, monkeypatch):
    """The cache is by content: two files with the same bytes share an entry, and each object is named by the
    file it is declared in now (its path, drift_ignore's too)."""
    same = {"groups": [{"name": "office"}], "drift_ignore": [{"address": "accounts/+390212345601", "fields": ["owner"],
                                                             "reason": "HR owns it"}]}
    state = write_state(tmp_path / "state", {"a.yml": same})
    fresh, _warnings = load_declared(str(state), str(tmp_path / "cache"))
    write_state(state, {"b.yml": same})
    monkeypatch.setattr(declared, "parse_bytes", None)  # b.yml must come from the cache
    again, _warnings = load_declared(str(state), str(tmp_path / "cache"))
    assert [(e.file, e.path) for e in again.entries["groups"]] == [("b.yml", "groups[0]")]
    assert [(file, path) for file, path, _item in again.drift_ignore] == [("b.yml", "drift_ignore[0]")]
    assert again.objects("groups") == fresh.objects("groups")


def test_a_load_keeps_the_document_beside_the_part_it_reads(tmp_path):
    """The cache forgets what was not used for 30 days, file by file. A load reads only a file's part; its document
    must stay as long, for the incremental run to compare when the file next changes."""
    import os
    import time

    from ansible_collections.switchboard.pbx.plugins.module_utils.parse_cache import ParseCache

    state = write_state(tmp_path / "state", {"a.yml": {"groups": [{"name": "office"}]}})
    load_declared(str(state), str(tmp_path / "cache"))
    month_ago = time.time() - 31 * 24 * 3600
    for entry in (tmp_path / "cache").rglob("*.json"):
        os.utime(entry, (month_ago, month_ago))
    load_declared(str(state), str(tmp_path / "cache"))  # reads the part, then prunes what is older than 30 days
    cache = ParseCache(str(tmp_path / "cache"))
    key = cache.key((state / "a.yml").read_bytes())
    assert cache.get(key) == {"groups": [{"name": "office"}]}
    assert cache.get_part(key) is not None
