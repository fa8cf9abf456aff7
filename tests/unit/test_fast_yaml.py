"""The fast parse (yaml_rs behind a gate on the text) reads exactly what the precise parse (PyYAML with our
constructors and checks) reads, or declines and lets the precise parse read and explain: proved on generated texts,
on every YAML file of the repository and on the carrier-scale bench state."""

import os
import subprocess
import sys

import pytest
import yaml_rs
from hypothesis import HealthCheck, given, settings

from conftest import REPO
from yaml_texts import same, yaml_text
from ansible_collections.switchboard.pbx.plugins.module_utils import fast_yaml, loader

sys.path.insert(0, str(REPO / "tests" / "bench"))
from generate import generate  # noqa: E402  (the bench's generator: tests/bench is not a package)

EXAMPLES = int(os.environ.get("FAST_YAML_EXAMPLES", "2000"))


def precise(text):
    """The precise path alone (an explicit loader class skips the fast one)."""
    return loader.parse(text, "s.yml", loader.state_loader())


def assert_reads_alike(text):
    """Whenever the fast path returns data it is the precise path's, type for type and key for key; whenever the
    precise path refuses, the fast path declined."""
    fast = fast_yaml.parse(text)
    document, problems = precise(text)
    if problems:
        assert fast is None, (text, problems)
    if fast is not None:
        assert not document.surprising and same(fast, document.data), (text, fast, document.data)
    return fast


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(yaml_text)
def test_generated_texts_read_alike_or_the_fast_path_declines(text):
    assert_reads_alike(text)


def repository_yaml_files():
    listed = subprocess.run(["git", "ls-files", "*.yml", "*.yaml"], cwd=REPO, capture_output=True, text=True, check=True)
    return listed.stdout.split()


@pytest.mark.parametrize("name", repository_yaml_files())
def test_every_yaml_file_of_the_repository_reads_alike(name):
    assert_reads_alike((REPO / name).read_text(encoding="utf-8"))


def test_the_demo_state_leaves_flow_mappings_with_quotes_to_the_precise_path():
    """Hand-written flow mappings with quoted numbers ({number: "+390212345601", ...}): the gate cannot tell cheaply
    that a quote does not hide a key over two lines, so these files are read precisely (they are small)."""
    for path in sorted((REPO / "inventories" / "demo" / "state").glob("*.yml")):
        assert fast_yaml.gate(path.read_text(encoding="utf-8")) == "flow collection over several lines", path.name


def test_the_carrier_bench_state_takes_the_fast_path(tmp_path):
    """IPs (10.0.0.0/8, 10.0.0.1), quoted +39 numbers, Desk-password-1, e-mail addresses, 'Desk 0', 'index: 1'
    do not make it decline."""
    generate(str(tmp_path), 200, numbers=300, devices=20)
    for path in sorted(tmp_path.glob("*.yml")):
        content = path.read_bytes()
        text = content.decode()
        assert fast_yaml.gate(text) is None, path.name
        assert assert_reads_alike(text) is not None, path.name
        document, problems = loader.parse_bytes(content, path.name)
        assert problems == [] and same(document.data, precise(text)[0].data)


# One text per rule of the gate: yaml_rs alone reads each differently from the precise path (or lets through what
# it refuses), so each of these fails if the gate is removed.
DIFFERENT_WITHOUT_THE_GATE = [
    ("k: yes\n", "plain token typed differently"),  # PyYAML True, yaml_rs 'yes'
    ("k: Off\n", "plain token typed differently"),
    ("k: 010\n", "plain token typed differently"),  # 8 against 10
    ("k: 0o10\n", "plain token typed differently"),  # '0o10' against 8
    ("k: 12:30\n", "plain token typed differently"),  # 750 against '12:30'
    ("k: 1e3\n", "plain token typed differently"),  # '1e3' against 1000.0
    ("k: -.5\n", "plain token typed differently"),  # '-.5' against -0.5
    ("k: _1\n", "plain token typed differently"),  # '_1' against 1
    ("k: 2024-01-01\n", "plain token typed differently"),  # a date against a string
    ("k: +390212345601\n", "plain token typed differently"),  # a WrittenInt (its + lost) against an int
    ("k: 1_000\n", "plain token typed differently"),  # a WrittenInt against an int
    ("k: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3132\n", "indicator"),  # a VaultValue against a string
    ("a: *nowhere\n", "indicator"),  # None against an undefined alias refused
    ("a: {b: 1}\nc:\n  <<: {b: 2}\n", "indicator"),  # a merge against a '<<' key
    ("k: =\n", "indicator"),
    ("k: !Secret-123\n", "indicator"),  # an unknown tag: refused by the precise path
    ("[a, b]: c\n", "empty or collection key"),  # a tuple key against an unhashable key refused
    ("k: 1\n---\nk: 2\n", "document marker"),  # a list of documents against one refused
    ("k: a\u2028b\n", "character"),  # a line separator to YAML 1.1, a character to yaml_rs
    ("k: a\x85b\n", "character"),  # NEL, the same
    ("\ufeffk: a\n", "character"),  # a BOM: the precise path skips it, yaml_rs keeps it in the key
    ("k: a # \x07 in a comment\n", "character"),  # refused by the precise path, even in a comment
    ("k: {a:, b}\n", "colon in a flow collection"),  # refused by libyaml, {'a': None, 'b': None} to yaml_rs
    ("k: [x y:]\n", "colon in a flow collection"),
    ("k: [a:?]\n", "colon in a flow collection"),
    ("k: {a\n  b: c}\n", "flow collection over several lines"),  # a key over two lines: libyaml refuses it
    ("k: {'a\n  b': c}\n", "flow collection over several lines"),
    ("k: {a: b,\n  c\n  d: e}\n", "flow collection over several lines"),
]


@pytest.mark.parametrize("text, reason", DIFFERENT_WITHOUT_THE_GATE)
def test_each_rule_of_the_gate_declines_what_yaml_rs_alone_would_read_differently(text, reason):
    assert fast_yaml.gate(text) == reason
    assert fast_yaml.parse(text) is None
    document, problems = precise(text)
    try:
        alone = yaml_rs.loads(text, parse_datetime=False)
    except yaml_rs.YAMLDecodeError:
        assert problems, text  # yaml_rs refuses: it must be because the precise path refuses too
        return
    assert problems or not same(alone, document.data) or document.surprising, text
    assert loader.parse(text, "s.yml") == (document, problems)  # the hook leaves the precise result untouched


@pytest.mark.parametrize("text, reason", [
    ("k: - a\n- - b\n", "compact nesting"),
    (": a\n", "empty or collection key"),
    ("a : b\n", "empty or collection key"),
    ("k: .5\n", "plain token typed differently"),
    ("k: 1234567890123456789\n", "plain token typed differently"),  # beyond the whitelist's 18 digits
    ("a: &x 1\nb: *x\n", "indicator"),
    ("k: ..\n", "plain token typed differently"),
    ("k: on\n", "plain token typed differently"),
    ("k: NO\n", "plain token typed differently"),
    ("k: -01\n", "plain token typed differently"),
    ("k: 0x1F\n", "plain token typed differently"),
    ("k: [a, 1.5]\n", "plain token typed differently"),
    ("k: 'a\\b'\n", "character"),
    ("k: \"a\\tb\"\n", "character"),
    ("k: a\tb\n", "character"),
    ("k: a\rb\n", "character"),
    ("k: a\u00a0\n", "character"),
    ("%YAML 1.1\n---\nk: a\n", "indicator"),
    ("k: |\n  a\n", "indicator"),
    ("k: >\n  a\n", "indicator"),
    ("? k\n: a\n", "indicator"),
])
def test_the_gate_declines(text, reason):
    assert fast_yaml.gate(text) == reason
    assert_reads_alike(text)


def test_reserved_indicators_are_refused_by_yaml_rs_itself():
    """'@' and '`' cannot start a token: the gate lets them through (e-mail addresses are full of '@'), yaml_rs refuses
    them as the precise path does, so the fast path declines."""
    for text in ("k: @a\n", "k: `a\n", "k: [@a]\n", "@a: b\n"):
        assert fast_yaml.gate(text) is None and fast_yaml.parse(text) is None
        assert precise(text)[1]


AGREED_TOKENS = ["0", "-0", "7", "-7", "123456789012345678", "-123456789012345678", "true", "True", "TRUE", "false",
                 "False", "FALSE", "null", "Null", "NULL", "~", "tRUE", "nULL", "10.0.0.1", "0.0.0.0/0", "Desk 0"]


@pytest.mark.parametrize("token", AGREED_TOKENS)
def test_the_tokens_the_gate_lets_through_read_alike_as_values_and_keys(token):
    for text in ("k: %s\n" % token, "k:\n- %s\n" % token, "k: [%s]\n" % token, "%s: v\n" % token):
        assert fast_yaml.gate(text) is None, text
        assert assert_reads_alike(text) is not None, text


def test_keys_that_collapse_into_one_are_refused_by_both(tmp_path):
    for text in ("1: a\ntrue: b\n", "0: a\nfalse: b\n", "-0: a\n0: b\n", "~: a\nnull: b\n", "a: 1\n'a': 2\n"):
        assert fast_yaml.gate(text) is None
        assert fast_yaml.parse(text) is None
        assert precise(text)[1]


def test_a_value_longer_than_allowed_is_explained_by_the_precise_path():
    text = "a: '%s'\nb: c\n" % ("x" * (loader.MAX_VALUE_CHARACTERS + 1))
    assert fast_yaml.gate(text) is None and fast_yaml.parse(text) is None
    _document, problems = loader.parse(text, "s.yml")
    assert [str(p) for p in problems] == [
        "s.yml: line 1, column 4: a value of 65537 characters is longer than the 65536 allowed (rule: state files are "
        "bounded)"]


def test_a_long_file_of_short_values_is_read_fast_even_where_the_text_cannot_bound_them():
    text = "a: '%s'\nb: [%s]\n" % ("x" * 9000, ", ".join(["[y]"] * 30)) + "".join("k%d: 'z''s'\n" % i for i in range(6000))
    assert len(text) > loader.MAX_VALUE_CHARACTERS
    assert not fast_yaml._bounded_by_text("\n" + text)  # '' and 30 brackets: the exact walk decides
    assert assert_reads_alike(text) is not None


def test_values_nested_deeper_than_allowed_are_explained_by_the_precise_path():
    text = "a: " + "[" * 70 + "]" * 70 + "\n"
    assert fast_yaml.gate(text) is None and fast_yaml.parse(text) is None
    _document, problems = loader.parse(text, "s.yml")
    assert [p.message for p in problems] == ["values nest deeper than 64 levels"]


def test_block_nesting_within_the_bound_is_read_fast():
    lines = [" " * level + "k%d:" % level for level in range(20)]
    text = "\n".join(lines) + " v\n"
    assert fast_yaml._nests_shallowly("\n" + text)
    assert assert_reads_alike(text) is not None


def test_a_top_level_that_is_not_a_mapping_is_left_to_the_precise_path():
    for text in ("- a\n", "a\n", "", "# only a comment\n", "[1, 2]\n"):
        assert fast_yaml.parse(text) is None
        assert loader.parse(text, "s.yml") == precise(text)


def test_without_yaml_rs_every_file_is_read_by_the_precise_path(monkeypatch):
    monkeypatch.setitem(sys.modules, "yaml_rs", None)  # import yaml_rs raises ImportError
    assert fast_yaml.parse("k: a\n") is None
    assert loader.parse("k: a\n", "s.yml") == precise("k: a\n")


def test_gaps_bound_every_stretch_between_separators():
    assert fast_yaml._gaps_shorter_than("a: b: c", ": ", 2)
    assert not fast_yaml._gaps_shorter_than("a: bbb: c", ": ", 3)
    assert fast_yaml._gaps_shorter_than(("x" * 9 + ": ") * 1000, ": ", 10)
    assert not fast_yaml._gaps_shorter_than(("x" * 9 + ": ") * 1000 + "y" * 10, ": ", 10)


def test_a_new_yaml_rs_makes_the_parse_cache_parse_again(monkeypatch):
    """An entry vouches for what yaml_rs read: another version of it must not trust the entry."""
    from ansible_collections.switchboard.pbx.plugins.module_utils import parse_cache

    before = parse_cache.code_fingerprint()
    real_version = parse_cache.importlib.metadata.version
    monkeypatch.setattr(parse_cache.importlib.metadata, "version",
                        lambda name: "9.9.9" if name == "yaml_rs" else real_version(name))
    assert parse_cache.code_fingerprint() != before
