"""The secrets file's fast path reads exactly what the YAML text loader reads, or steps aside."""

import yaml
from hypothesis import given, strategies as st

from ansible_collections.switchboard.pbx.plugins.module_utils.loader import parse, simple_text_mapping, text_loader

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


def precise(document):
    parsed, problems = parse(document, "secrets.yml", text_loader())
    return None if problems or parsed is None else parsed.data


@given(st.dictionaries(text, text, min_size=1, max_size=8))
def test_whatever_a_tool_dumps_reads_the_same_or_goes_to_the_parser(mapping):
    for dumped in (yaml.safe_dump(mapping, allow_unicode=True), yaml.safe_dump(mapping, default_style="'"),
                   yaml.safe_dump(mapping, default_style='"')):
        fast = simple_text_mapping(dumped)
        assert fast is None or fast == precise(dumped) == mapping


def test_what_only_the_parser_may_judge_steps_aside():
    for document in ("'+39': a\n'+39': b\n", "a: b # note\n", "a: 'it''s'\n", 'a: "x\\n"\n', "a: b\n\n", "- a\n",
                     "a: b\r\n", "{}\n", ""):
        assert simple_text_mapping(document) is None, document
    assert simple_text_mapping("'+390212345601': S3cret-1\n+390212345602: \"0123\"\n") == {
        "+390212345601": "S3cret-1", "+390212345602": "0123"}
