"""Input can never destroy data or the controller: repeated keys, alias bombs, deep nesting, long values,
special files and YAML 1.1 surprises are refused with the file, the line and a sentence; nothing hangs."""

import gc
import os
import resource
import socket
import time

import pytest

from conftest import write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import loader
from ansible_collections.switchboard.pbx.plugins.module_utils.declared import load as load_declared
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import InvalidState

GROUPS = "groups:\n  - name: office\n"
ACCOUNT = "  - number: '+390212345601'\n    group: office\n    password: Long-Enough-1\n"


def problems_of(state_dir):
    with pytest.raises(InvalidState) as failure:
        load_declared(str(state_dir), str(state_dir.parent / "cache"))
    return [str(p) for p in failure.value.problems]


def state(tmp_path, text, name="s.yml"):
    return write_state(tmp_path / "state", {name: text})


def test_a_repeated_top_level_key_is_an_error_with_its_line(tmp_path):
    text = GROUPS + "accounts:\n" + ACCOUNT + "accounts:\n  - number: '+390212345602'\n    group: office\n"
    assert problems_of(state(tmp_path, text)) == [
        "s.yml: line 7, column 1: 'accounts' is written twice in the same mapping (first on line 3): the last one "
        "would silently replace the first (rule: keys are unique in a mapping)"]


def test_a_repeated_field_inside_an_account_is_an_error(tmp_path):
    text = GROUPS + "accounts:\n" + ACCOUNT + "    group: other\n"
    assert problems_of(state(tmp_path, text)) == [
        "s.yml: line 7, column 5: 'group' is written twice in the same mapping (first on line 5): the last one "
        "would silently replace the first (rule: keys are unique in a mapping)"]


def test_merged_keys_may_be_overridden_but_written_keys_may_not_repeat(tmp_path):
    text = ("defaults: &desk {group: office, type: snom}\n" + GROUPS +
            "accounts:\n  - <<: *desk\n    number: '+390212345601'\n    type: sip\n    password: Long-Enough-1\n")
    document, found = loader.parse(text, "s.yml")
    assert found == [] and document.data["accounts"][0]["type"] == "sip"
    document, found = loader.parse(text + "    type: snom\n", "s.yml")
    assert [str(p) for p in found] == [
        "s.yml: line 9, column 5: 'type' is written twice in the same mapping (first on line 7): the last one "
        "would silently replace the first (rule: keys are unique in a mapping)"]


def billion_laughs(levels=9):
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for level in range(1, levels + 1):
        name, previous = chr(ord("a") + level), chr(ord("a") + level - 1)
        lines.append("%s: &%s [%s]" % (name, name, ", ".join(["*" + previous] * 10)))
    return "\n".join(lines) + "\n"


def test_a_billion_laughs_is_refused_in_under_a_second_without_memory(tmp_path):
    directory = state(tmp_path, billion_laughs())
    assert len(billion_laughs()) < 1000
    memory_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    found = problems_of(directory)
    assert time.monotonic() - started < 1.0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - memory_before < 50 * 1024  # KiB: under 50 MiB
    assert found == [
        "s.yml: line 9, column 4: aliases would expand this file to 12345679021 values, more than 100124 (4 times "
        "the 31 it spells out, plus 100000); the value anchored here has 1111111111 (rule: state files are bounded)"]


def test_reusing_an_anchored_acl_is_fine(tmp_path):
    accounts = "".join("  - {number: '+3902123456%02d', group: office, password: Long-Enough-1, acl: *acl}\n" % i
                       for i in range(50))
    text = GROUPS + "acl_template: &acl [{deny: 0.0.0.0/0}, {permit: 10.0.0.0/8}]\naccounts:\n" + accounts
    document, found = loader.parse(text, "s.yml")
    assert found == [] and document.data["accounts"][49]["acl"] == [{"deny": "0.0.0.0/0"}, {"permit": "10.0.0.0/8"}]


@pytest.mark.parametrize("text, message", [
    ("a: &a [*a]\n", "s.yml: line 1, column 4: an alias refers to a value that contains it (a recursive anchor) "
                     "(rule: state files are bounded)"),
    ("a: " + "[" * 200000 + "]" * 200000 + "\n", "s.yml: line 1, column 67: values nest deeper than 64 levels "
                                                 "(rule: state files are bounded)"),
    ("a:\n" + "".join(" " * i + "b:\n" for i in range(1, 100)),
     "s.yml: line 65, column 65: values nest deeper than 64 levels (rule: state files are bounded)"),
    ("accounts: " + "A" * 100000 + "\n", "s.yml: line 1, column 11: a value of 100000 characters is longer than the "
                                         "65536 allowed (rule: state files are bounded)"),
    ("a: " + "9" * 5000 + "\n", "s.yml: line 1, column 4: a number of 5000 characters is too long: quote it if it is "
                                "a text (rule: state files are bounded)"),
    ("a: 2024-13-45\n", "s.yml: line 1, column 4: YAML reads this unquoted value as a date, and it is not a valid "
                        "date: quote it (rule: YAML syntax)"),
])
def test_what_could_exhaust_the_controller_is_refused_with_its_line(tmp_path, text, message):
    started = time.monotonic()
    assert problems_of(state(tmp_path, text)) == [message]
    assert time.monotonic() - started < 1.0


def test_an_unknown_tag_is_reported_without_its_text(tmp_path):
    text = GROUPS + "accounts:\n  - number: '+390212345601'\n    group: office\n    password: !Bang-Pass-123x\n"
    found = problems_of(state(tmp_path, text))
    assert found == ["s.yml: line 6, column 15: an unknown YAML tag (the text after '!') is not allowed; quote the "
                     "value if it starts with '!' (rule: YAML syntax)"]
    assert "Bang" not in str(found)


@pytest.mark.parametrize("value, message", [
    ("12:30", "s.yml: accounts[0].owner: 12:30 is read by YAML as the number 750: quote it ('12:30') (rule: schema: type)"),
    ("2024-01-01", "s.yml: accounts[0].owner: YAML reads the unquoted 2024-01-01 as a date: quote it ('2024-01-01') "
                   "(rule: schema: type)"),
    ("yes", "s.yml: accounts[0].owner: true is not a string: YAML reads unquoted yes/no/on/off/true/false as true or "
            "false; quote it (rule: schema: type)"),
    ("{a: 1}", "s.yml: accounts[0].owner: is a mapping, not a string or empty (rule: schema: type)"),
    ("Z" * 300, "s.yml: accounts[0].owner: 'ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ…' (300 characters) is longer than "
                "255 characters (rule: schema: maxLength)"),
])
def test_messages_are_sentences_with_bounded_values(tmp_path, value, message):
    text = GROUPS + "accounts:\n" + ACCOUNT + "    owner: %s\n" % value
    assert problems_of(state(tmp_path, text)) == [message]


@pytest.mark.parametrize("field, value, message", [
    ("type", "X" * 1000, "s.yml: accounts[0].type: 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX…' (1000 characters) "
                         "is not one of: pgsm, snom, sip (rule: schema: enum)"),
    ("group", "~", "s.yml: accounts[0].group: is empty; a string is expected here (rule: schema: type)"),
    ("group", "'bad name!'", "s.yml: accounts[0].group: 'bad name!' does not match: a name is 1 to 64 letters, "
                             "digits, '_', '.' or '-', starting with a letter or digit (rule: schema: pattern)"),
    ("Y" * 1000, "1", "s.yml: accounts[0]: unknown field ('YYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYYY…' (1000 "
                      "characters) was unexpected) (rule: schema: additionalProperties)"),
])
def test_schema_messages_never_echo_unbounded_values_or_regexes(tmp_path, field, value, message):
    text = GROUPS + "accounts:\n  - number: '+390212345601'\n    password: Long-Enough-1\n"
    text += "    %s: %s\n" % (field, value) + ("    group: office\n" if field != "group" else "")
    found = problems_of(state(tmp_path, text))
    assert message in found
    assert "^" not in str(found) and "None" not in str(found)


def test_a_fifo_is_refused_by_name_and_never_opened(tmp_path):
    directory = state(tmp_path, GROUPS)
    os.mkfifo(directory / "accounts.yml")
    started = time.monotonic()
    assert problems_of(directory) == ["accounts.yml: is a FIFO (named pipe), not a regular file "
                                      "(rule: state files are regular files)"]
    assert time.monotonic() - started < 5


def test_sockets_devices_and_broken_symlinks_are_refused_by_name(tmp_path):
    directory = state(tmp_path, GROUPS)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(directory / "control.sock"))
    try:
        os.symlink("/dev/null", directory / "null.yml")
        os.symlink(directory / "gone.yml", directory / "dangling.yml")
        os.symlink("loop.yml", directory / "loop.yml")
        os.symlink(".", directory / "itself")
        assert problems_of(directory) == [
            "control.sock: is a socket, not a regular file (rule: state files are regular files)",
            "dangling.yml: is a dangling symlink (its target does not exist) (rule: state files are regular files)",
            "itself: is a symlink to a directory that contains it (a loop) (rule: state files are regular files)",
            "loop.yml: is a symlink loop (rule: state files are regular files)",
            "null.yml: is a character device, not a regular file (rule: state files are regular files)"]
    finally:
        listener.close()


def test_upper_case_names_and_symlinked_directories_are_loaded(tmp_path):
    elsewhere = write_state(tmp_path / "elsewhere", {"more.yaml": "accounts:\n" + ACCOUNT})
    directory = state(tmp_path, GROUPS, name="ORGANISATION.YML")
    os.symlink(elsewhere, directory / "linked")
    declared, _warnings = load_declared(str(directory), str(tmp_path / "cache"))
    assert list(declared.objects("groups")) == ["office"]
    assert [(e.file, e.key) for e in declared.entries["accounts"]] == [("linked/more.yaml", "+390212345601")]


def test_an_empty_state_directory_warns(tmp_path):
    (tmp_path / "state").mkdir()
    _declared, warnings = load_declared(str(tmp_path / "state"), str(tmp_path / "cache"))
    assert warnings == ["the state directory %s has no *.yml or *.yaml files: nothing is declared" % (tmp_path / "state")]


def test_a_vault_encrypted_file_without_its_secret_is_refused_without_ciphertext(tmp_path):
    ciphertext = "$ANSIBLE_VAULT;1.1;AES256\n6162636465666768\n"
    found = problems_of(state(tmp_path, ciphertext))
    assert found == ["s.yml: is encrypted with Ansible Vault as a whole, and no vault secret decrypted it (give the "
                     "controller the vault password, e.g. --ask-vault-pass) (rule: vault values need the vault secret)"]


def test_a_decrypted_state_file_is_loaded_its_passwords_sealed_and_never_cached(tmp_path):
    directory = state(tmp_path, "$ANSIBLE_VAULT;1.1;AES256\n6162636465666768\n")
    decrypted = {"s.yml": GROUPS + "accounts:\n" + ACCOUNT}
    declared, warnings = load_declared(str(directory), str(tmp_path / "cache"),
                                       passwords={"+390212345601": "Long-Enough-1"}, decrypted_files=decrypted)
    assert declared.by_key("accounts")["+390212345601"].password is loader.SEALED
    assert not [w for w in warnings if "plain text" in w]
    assert not list((tmp_path / "cache").rglob("*.json"))


def test_a_password_from_the_controller_must_name_a_declared_account_and_be_the_only_one(tmp_path):
    directory = state(tmp_path, GROUPS + "accounts:\n" + ACCOUNT)
    with pytest.raises(InvalidState) as failure:
        load_declared(str(directory), str(tmp_path / "cache"), secrets_file="/etc/secrets.yml",
                      passwords={"+390212345601": "Other-Password-1", "+390299999999": "Typo-Password-1"})
    assert [str(p) for p in failure.value.problems] == [
        "/etc/secrets.yml: '+390299999999': matches no declared account (a typo, or an account that is no longer "
        "declared?) (rule: secrets file keys name declared accounts)",
        "s.yml: accounts[0].password: the password is given twice: in plain text here and in /etc/secrets.yml; keep "
        "one (rule: a password is given in one place)"]
    assert "Password-1" not in str(failure.value)


def test_duplicate_key_and_alias_checks_keep_parsing_fast():
    """10k accounts in one file, written like the benchmark's: the checks cost a few per cent of PyYAML's parse."""
    import yaml

    text = yaml.safe_dump({"accounts": [
        {"number": "+3902%08d" % i, "group": "office", "owner": "Desk %d" % i,
         "acl": [{"deny": "0.0.0.0/0"}, {"permit": "10.0.0.0/8"}]} for i in range(10000)]}, sort_keys=False)
    best = {}
    for _attempt in range(5):
        for name, parse in (("plain", lambda: yaml.load(text, Loader=yaml.CSafeLoader)),
                            ("checked", lambda: loader.parse(text, "s.yml"))):
            gc.collect()
            gc.disable()  # the collector's timing depends on the heap, not on the code measured
            try:
                started = time.process_time()
                parse()
                best[name] = min(best.get(name, 1e9), time.process_time() - started)
            finally:
                gc.enable()
    assert best["checked"] < best["plain"] * 1.25, best  # measured: 5 to 15 per cent


def test_numbers_spelt_surprisingly_reach_the_model_as_plain_integers(tmp_path):
    text = GROUPS + "accounts:\n" + ACCOUNT + "    voice_channels: 0_2\n"
    declared, _warnings = load_declared(str(state(tmp_path, text)), str(tmp_path / "cache"))
    channels = declared.objects("accounts")["+390212345601"]["voice_channels"]
    # exactly int: isinstance would also accept a bool or YAML's own int subclass
    assert channels == 2 and type(channels) is int  # pylint: disable=unidiomatic-typecheck


def test_a_file_over_the_size_limit_is_refused_unread(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 100)
    assert problems_of(state(tmp_path, GROUPS + "#" * 100 + "\n")) == [
        "s.yml: has more than the 100 bytes allowed (rule: state files are bounded)"]


def test_a_state_dir_that_is_a_file_is_named_as_such(tmp_path):
    (tmp_path / "state").write_text(GROUPS)
    assert problems_of(tmp_path / "state") == [
        "%s: the state directory is a file, not a directory (rule: state_dir must be a directory)" % (tmp_path / "state")]


def test_the_message_lists_the_first_200_problems_and_counts_the_rest(tmp_path):
    accounts = "".join("  - {number: '+3902%08d', group: office, colour: red}\n" % i for i in range(250))
    with pytest.raises(InvalidState) as failure:
        load_declared(str(state(tmp_path, GROUPS + "accounts:\n" + accounts)), str(tmp_path / "cache"))
    lines = str(failure.value).splitlines()
    assert len(failure.value.problems) == 250 and len(lines) == 202
    assert lines[0] == "250 problems in the declared state, nothing was written:"
    assert lines[-1] == "... and 50 more problems (the task result's problems lists every one)"


def test_an_unquoted_e164_number_is_shown_as_written(tmp_path):
    text = GROUPS + "accounts:\n  - number: +390212345601\n    group: office\n    password: Long-Enough-1\n"
    assert problems_of(state(tmp_path, text)) == [
        "s.yml: accounts[0].number: +390212345601 is read by YAML as the number 390212345601: quote it "
        "('+390212345601') (rule: schema: type)"]
