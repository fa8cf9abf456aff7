"""json_text: orjson's text, where it writes one, parses to what the standard library's does; whatever the standard
library refuses is refused either way; what orjson cannot encode, the standard library does."""

import datetime
import json

import pytest
from hypothesis import given, settings, strategies as st

from ansible_collections.switchboard.pbx.plugins.module_utils import json_text
from ansible_collections.switchboard.pbx.plugins.module_utils.loader import VaultValue, _written_int

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
VALUES = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), TEXT),
                      lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
                      max_leaves=16)


@pytest.fixture(params=["orjson", "standard library"])
def encoder(request, monkeypatch):
    if request.param == "standard library":
        monkeypatch.setattr(json_text, "_fast", lambda: None)
    else:
        assert json_text._fast() is not None, "orjson is in requirements.txt: the fast path must be tested"
    return request.param


@settings(max_examples=300)
@given(VALUES)
def test_the_text_parses_to_the_value(value):
    for fast in (json_text._fast(), None):
        text = json_text.compact(value) if fast else json_text._STANDARD.encode(value)
        assert json.loads(text) == value


def test_ascii_text_is_the_standard_librarys_byte_for_byte(encoder):
    value = {"owner": "Desk 0", "acl": [{"deny": "0.0.0.0/0"}], "voice_channels": 2, "disabled": False, "e": None}
    assert json_text.compact(value) == json.dumps(value, sort_keys=True, separators=(",", ":"))


def test_what_only_the_standard_library_encodes_it_encodes(encoder):
    assert json_text.compact({2: "a", 1: "b"}) == '{"1":"b","2":"a"}'
    assert json_text.compact({"b": 2 ** 80}) == '{"b":%d}' % 2 ** 80
    assert json_text.compact({"n": _written_int(750, "12:30")}) == '{"n":750}'


@pytest.mark.parametrize("refused", [VaultValue("$ANSIBLE_VAULT;1.1;AES256\n3132"), datetime.date(2026, 11, 23)])
def test_what_the_standard_library_refuses_is_refused(encoder, refused):
    with pytest.raises(TypeError):
        json_text.compact({"password": refused})


def test_in_order_keeps_the_order_and_encodes_what_json_has_no_type_for(encoder):
    def sealed(value):
        if isinstance(value, VaultValue):
            return {"!vault": value.ciphertext}
        raise TypeError(type(value))

    value = {"password": VaultValue("$ANSIBLE_VAULT;1.1;AES256\n3132"), "owner": "Zoë", "big": 2 ** 80, "acl": []}
    text = json_text.in_order_bytes(value, default=sealed)
    assert list(json.loads(text)) == ["password", "owner", "big", "acl"]  # as written, not sorted
    assert json.loads(text) == dict(value, password={"!vault": "$ANSIBLE_VAULT;1.1;AES256\n3132"})
    with pytest.raises(TypeError):
        json_text.in_order_bytes({"when": datetime.date(2026, 11, 23)}, default=sealed)
