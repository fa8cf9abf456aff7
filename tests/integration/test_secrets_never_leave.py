"""Secrets never leave: every output of real ansible-playbook runs (-vvv included), Ansible's log, the plan
files, the parse cache and a dump of the database are searched for every secret, after successful,
check, failing and -vvv runs. The secrets file must be vault-encrypted, name declared accounts only,
and a password is given in one place."""

import hashlib
import os
import sqlite3

import pytest

from conftest import PARSE_CACHE, SIP_DOMAIN, Playbook, recap_changed, sqlite_rows, write_state

VAULT_PASSWORD = "correct horse battery staple"
SECRETS = {
    "inline": "Inline-Vault-Secret-1",
    "secrets file": "From-Secrets-File-2",
    "whole file": "Whole-File-Secret-3",
    "plain": "Plain-Text-Secret-4",
    "unknown tag": "Bang-Pass-123x",
}


def encrypt(text):
    from ansible.parsing.vault import VaultLib, VaultSecret

    vault = VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))])
    return vault.encrypt(text.encode()).decode()


def inline_vault(value, indent="    "):
    lines = encrypt(value).strip().splitlines()
    return "password: !vault |\n" + "".join(indent + "  " + line + "\n" for line in lines)


def account(number, username, extra=""):
    return "  - number: '%s'\n    group: office\n    username: '%s'\n%s" % (number, username, extra)


def declared_files():
    return {
        "office.yml": "groups:\n  - name: office\naccounts:\n"
                      + account("+390212345601", "7001", "    " + inline_vault(SECRETS["inline"]))
                      + account("+390212345602", "7002")
                      + account("+390212345604", "7004", "    password: %s\n" % SECRETS["plain"]),
        "sealed.yml": encrypt("accounts:\n" + account("+390212345603", "7003",
                                                      "    password: %s\n" % SECRETS["whole file"])),
    }


@pytest.fixture
def secret_run(tmp_path, monkeypatch, sqlite_dsn):
    monkeypatch.setenv("ANSIBLE_LOG_PATH", str(tmp_path / "ansible.log"))
    playbook = Playbook(tmp_path, sqlite_dsn)
    (tmp_path / "vault-pass").write_text(VAULT_PASSWORD + "\n")
    (tmp_path / "secrets.yml").write_text(encrypt("+390212345602: %s\n" % SECRETS["secrets file"]))
    write_state(playbook.state_dir, declared_files())
    return playbook


def run(playbook, *extra, expect_rc=0, secrets_file=True, **kwargs):
    variables = {"switchboard_secrets_file": str(playbook.tmp_path / "secrets.yml")} if secrets_file else {}
    return playbook.run("--vault-password-file", str(playbook.tmp_path / "vault-pass"), *extra,
                        extra_vars=variables, expect_rc=expect_rc, **kwargs)


def everything_written(playbook):
    """Every output, Ansible's log, the plan files, the parse cache and the database (dump and bytes)."""
    texts = list(playbook.outputs)
    log = playbook.tmp_path / "ansible.log"
    texts.append(log.read_text() if log.exists() else "")
    for directory in (playbook.report_dir, PARSE_CACHE):
        texts.extend(p.read_text(errors="replace") for p in directory.rglob("*") if p.is_file())
    database = playbook.dsn[len("sqlite://"):]
    if os.path.exists(database):
        connection = sqlite3.connect(database)
        texts.extend(connection.iterdump())
        connection.close()
        for suffix in ("", "-wal"):
            if os.path.exists(database + suffix):
                texts.append(open(database + suffix, "rb").read().decode("latin-1"))
    return "\n".join(texts)


def assert_no_secret(playbook, secrets):
    written = everything_written(playbook)
    for secret in secrets:
        assert secret not in written, secret


def test_no_secret_in_any_output_log_report_cache_or_database(secret_run):
    output = run(secret_run, "--check", "--diff", "-vvv")
    assert recap_changed(output) == 1
    output = run(secret_run, "--diff", "-vvv")
    assert recap_changed(output) == 1
    ha1 = dict(sqlite_rows(secret_run.dsn, "SELECT username, ha1 FROM subscriber"))
    for username, source in (("7001", "inline"), ("7002", "secrets file"), ("7003", "whole file"), ("7004", "plain")):
        assert ha1[username] == hashlib.md5(("%s:%s:%s" % (username, SIP_DOMAIN, SECRETS[source])).encode()).hexdigest()
    # Only the plain-text password is warned about: the whole-file-vault one was encrypted at rest.
    warned = [line for line in output.splitlines() if "plain text" in line or "plain-text" in line]
    assert warned and not any("+390212345603" in line or "sealed.yml" in line for line in warned)
    assert recap_changed(run(secret_run, "-vvv")) == 0

    # A failing run: a repeated key next to clear passwords, and an unknown tag hiding a password.
    path = secret_run.state_dir / "office.yml"
    lines = len(path.read_text().splitlines())
    path.write_text(path.read_text() + account("+390212345605", "7005", "    password: !%s\n" % SECRETS["unknown tag"])
                    + "    group: office\n")
    output = run(secret_run, "-vvv", expect_rc=2)
    assert ("office.yml: line %d, column 15: an unknown YAML tag (the text after '!') is not allowed" % (lines + 4)
            ) in output
    write_state(secret_run.state_dir, declared_files())
    path.write_text(path.read_text() + "accounts: []\n")
    output = run(secret_run, "--check", "-vvv", expect_rc=2)
    assert ("office.yml: line %d, column 1: 'accounts' is written twice in the same mapping (first on line 3): the last "
            "one would silently replace the first (rule: keys are unique in a mapping)" % (lines + 1)) in output
    assert_no_secret(secret_run, list(SECRETS.values()) + [VAULT_PASSWORD])
    shown = "\n".join(secret_run.outputs) + (secret_run.tmp_path / "ansible.log").read_text()
    assert not [ha1 for ha1 in ha1.values() if ha1 in shown]  # the database holds HA1s; nothing shows them


def test_the_secrets_file_must_be_vault_encrypted(secret_run):
    (secret_run.tmp_path / "secrets.yml").write_text("+390212345602: %s\n" % SECRETS["secrets file"])
    output = run(secret_run, expect_rc=2)
    path = secret_run.tmp_path / "secrets.yml"
    assert ("the secrets file %s is not encrypted with Ansible Vault: encrypt it (ansible-vault encrypt %s) or put "
            "the passwords inline as !vault values" % (path, path)) in output
    assert_no_secret(secret_run, [SECRETS["secrets file"]])


def test_a_secrets_file_key_must_name_a_declared_account(secret_run):
    (secret_run.tmp_path / "secrets.yml").write_text(encrypt(
        "+390212345602: %s\n+390299999999: Typo-Account-Secret\n" % SECRETS["secrets file"]))
    output = run(secret_run, expect_rc=2)
    assert ("%s: '+390299999999': matches no declared account (a typo, or an account that is no longer declared?) "
            "(rule: secrets file keys name declared accounts)" % (secret_run.tmp_path / "secrets.yml")) in output
    assert_no_secret(secret_run, [SECRETS["secrets file"], "Typo-Account-Secret"])


def test_a_password_given_in_two_places_is_an_error_naming_both(secret_run):
    secrets = secret_run.tmp_path / "secrets.yml"
    secrets.write_text(encrypt("+390212345602: %s\n+390212345601: Second-Place-1\n" % SECRETS["secrets file"]))
    output = run(secret_run, expect_rc=2)
    assert ("the password of account '+390212345601' is given twice: as !vault in office.yml and in the secrets file "
            "%s; keep one" % secrets) in output
    secrets.write_text(encrypt("+390212345604: Second-Place-4\n+390212345603: Second-Place-3\n"))
    output = run(secret_run, expect_rc=2)
    assert ("the password of account '+390212345603' is given twice: as a password in the vault-encrypted file sealed.yml "
            "and in the secrets file %s; keep one" % secrets) in output
    secrets.write_text(encrypt("+390212345604: Second-Place-4\n"))
    output = run(secret_run, expect_rc=2)
    assert ("office.yml: accounts[2].password: the password is given twice: in plain text here and in %s; keep one "
            "(rule: a password is given in one place)" % secrets) in output
    assert_no_secret(secret_run, list(SECRETS.values()) + ["Second-Place-1", "Second-Place-3", "Second-Place-4"])


def test_vault_values_without_the_vault_secret_are_refused_in_sentences(secret_run):
    output = secret_run.run(expect_rc=2)
    assert ("sealed.yml: is encrypted with Ansible Vault as a whole, and no vault secret decrypted it (give the "
            "controller the vault password, e.g. --ask-vault-pass) (rule: vault values need the vault secret)") in output
    (secret_run.tmp_path / "vault-pass").write_text("not the vault password\n")
    output = run(secret_run, expect_rc=2)
    assert ("the secrets file %s is encrypted with Ansible Vault and no vault secret given to this run decrypts it "
            "(--ask-vault-pass or --vault-password-file)" % (secret_run.tmp_path / "secrets.yml")) in output
    assert "$ANSIBLE_VAULT" not in output
    assert_no_secret(secret_run, list(SECRETS.values()))


def test_a_dsn_password_never_appears(tmp_path, monkeypatch, pg_cluster):
    monkeypatch.setenv("ANSIBLE_LOG_PATH", str(tmp_path / "ansible.log"))
    dsn = pg_cluster.new_database("pbx_secrets")
    playbook = Playbook(tmp_path, dsn)
    write_state(playbook.state_dir, {"office.yml": "groups:\n  - name: office\n"})
    assert recap_changed(playbook.run("-vvv")) == 1
    # A wrong password, a password the driver cannot parse, a database that does not exist: each fails
    # with the driver's words and never the password.
    wrong = dsn.replace(pg_cluster.password, "Wrong-Db-Secret-9")
    garbled = dsn.replace(pg_cluster.password, "Bad%zzDb-Secret-8")
    missing = dsn.rsplit("/", 1)[0] + "/no_such_db"
    for candidate in (wrong, garbled, missing):
        playbook.dsn = candidate
        output = playbook.run("-vvv", expect_rc=2)
        assert "fatal: [pbx]: FAILED!" in output
    # The documented ways to keep the password out of plain text: PGPASSWORD, a .pgpass file, a vault variable.
    without_password = dsn.replace(":%s@" % pg_cluster.password, "@")
    playbook.dsn = without_password
    monkeypatch.setenv("PGPASSWORD", pg_cluster.password)
    assert recap_changed(playbook.run("-vvv")) == 0
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    pgpass.write_text("127.0.0.1:*:*:%s:%s\n" % (pg_cluster.user, pg_cluster.password))
    pgpass.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    assert recap_changed(playbook.run("-vvv")) == 0
    monkeypatch.delenv("PGPASSFILE")
    (tmp_path / "vault-pass").write_text(VAULT_PASSWORD + "\n")
    (tmp_path / "db-vault.yml").write_text(encrypt("vault_pbx_db_password: '%s'\n" % pg_cluster.password))
    playbook.dsn = dsn.replace(pg_cluster.password, "{{ vault_pbx_db_password }}")
    output = playbook.run("-vvv", "--vault-password-file", str(tmp_path / "vault-pass"),
                          "-e", "@%s" % (tmp_path / "db-vault.yml"))
    assert recap_changed(output) == 0
    playbook.dsn = dsn
    written = everything_written(playbook)
    for secret in (pg_cluster.password, "Wrong-Db-Secret-9", "Bad%zzDb-Secret-8", "zzDb-Secret-8"):
        assert secret not in written, secret
