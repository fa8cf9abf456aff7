"""plan.changed_paths names the same field paths DeepDiff does, on any nesting of mappings, lists and values."""

from deepdiff import DeepDiff
from hypothesis import given, settings, strategies as st

from ansible_collections.switchboard.pbx.plugins.module_utils.plan import changed_paths

# Keys as the state files have them, and the odd ones DeepDiff writes or skips differently (quotes, '__', numbers).
KEYS = st.sampled_from(["owner", "acl", "deny", "permit", "key", "enabled", "ip_listing", "__private", "it's", "a b", 1])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.sampled_from([1.0, 0.5]),
                    st.sampled_from(["", "a", "b", "10.0.0.0/8", "+390212000000"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(KEYS, inner, max_size=4)), max_leaves=12)
OBJECTS = st.dictionaries(KEYS, VALUES, max_size=6)


def deepdiff_paths(before, after):
    import re
    return sorted(re.sub(r"\['([^']*)'\]", r".\1", p[len("root"):]).lstrip(".")
                  for p in DeepDiff(before, after).affected_paths)


@settings(max_examples=3000, deadline=None)
@given(OBJECTS, OBJECTS)
def test_the_paths_are_deepdiffs(before, after):
    assert changed_paths(before, after) == deepdiff_paths(before, after)


@settings(max_examples=1000, deadline=None)
@given(OBJECTS, st.data())
def test_the_paths_of_a_small_edit_are_deepdiffs(before, data):
    """Random pairs rarely share much: here the second object is the first with a few fields replaced."""
    after = dict(before)
    for key in data.draw(st.lists(KEYS, max_size=3)):
        after[key] = data.draw(VALUES)
    assert changed_paths(before, after) == deepdiff_paths(before, after)


def test_account_fields_are_named_as_in_the_yaml():
    before = {"number": "+390212000000", "owner": "Desk 0", "keepalive": False, "voice_channels": 1,
              "obfuscation": {"enabled": True, "key": "9"}, "acl": [{"deny": "0.0.0.0/0"}, {"permit": "10.0.0.0/24"}],
              "additional_numbers": ["+390212000001", "+390212000002"]}
    after = dict(before, owner="Desk Zero", keepalive=True, voice_channels=1.0, obfuscation={"enabled": True, "key": "7"},
                 acl=[{"deny": "0.0.0.0/0"}, {"permit": "10.0.1.0/24"}], additional_numbers=["+390212000002"])
    assert changed_paths(before, after) == ["acl[1].permit", "additional_numbers[0]", "keepalive", "obfuscation.key",
                                            "owner", "voice_channels"]
