"""Faults and concurrency on the PBX database (issue 6 §6), on SQLite and PostgreSQL where the database matters:
concurrent first runs, a disk that fills up, a connection that dies, the write lock held only while writing."""

import multiprocessing
import os
import sqlite3
import time

import pytest

from conftest import SIP_DOMAIN, db_rows, file_digest, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine, gather, report
from ansible_collections.switchboard.pbx.plugins.module_utils.errors import SwitchboardError
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx import database

GROUP = {"groups": [{"name": "office"}]}


def desk(number, **fields):
    account = {"number": number, "group": "office", "type": "snom", "password": "Desk-%s-pw" % number[-4:]}
    account.update(fields)
    return account


def options(tmp_path, dsn, accounts, check=False, **extra):
    state = write_state(tmp_path / "state", {"s.yml": dict(GROUP, accounts=accounts)})
    return engine.Options(str(state), dsn, SIP_DOMAIN, check_mode=check, report_dir=str(tmp_path / "reports"), **extra)


def sqlite_path(dsn):
    return database.parse_dsn(dsn)[1]


# -- a new SQLite file and concurrent runs -------------------------------------------------------------------

def _paused_run(opts, pause_dir, fail, results):
    """A run (in its own process) that stops inside its write transaction until told to go on."""
    real = report.write_plan_file

    def paused(*args, **kwargs):
        (pause_dir / "waiting").touch()
        while not (pause_dir / "go").exists():
            time.sleep(0.02)
        if fail:
            raise SwitchboardError("injected failure")
        return real(*args, **kwargs)
    report.write_plan_file = paused
    try:
        results.put(("ok", engine.run(opts)["changes"]))
    except SwitchboardError as exc:
        results.put(("failed", str(exc)))


def run_alongside(first, second, tmp_path, fail):
    """``first`` starts before the SQLite file exists and pauses inside its write transaction; ``second``
    runs to its commit meanwhile; then ``first`` goes on. Returns (first's outcome, second's result)."""
    pause_dir = tmp_path / "pause"
    pause_dir.mkdir()
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    process = context.Process(target=_paused_run, args=(first, pause_dir, fail, results))
    process.start()
    deadline = time.monotonic() + 60
    while not (pause_dir / "waiting").exists():
        assert time.monotonic() < deadline and process.is_alive()
        time.sleep(0.02)
    second_result = engine.run(second)
    (pause_dir / "go").touch()
    outcome = results.get(timeout=60)
    process.join(30)
    return outcome, second_result


def leftovers(dsn):
    directory = os.path.dirname(sqlite_path(dsn))
    return sorted(name for name in os.listdir(directory) if name != "pbx.sqlite")


@pytest.mark.parametrize("check, fail", [(True, False), (False, True), (False, False)],
                         ids=["check-mode", "failing-run", "concurrent-first-run"])
def test_a_run_that_started_before_the_file_never_removes_what_another_committed(tmp_path, sqlite_dsn, check, fail):
    first = options(tmp_path / "a", sqlite_dsn, [desk("+390212345601")], check=check)
    second = options(tmp_path / "b", sqlite_dsn, [desk("+390212345601")])
    outcome, second_result = run_alongside(first, second, tmp_path, fail)
    assert second_result["changes"] == ["create groups/office", "create accounts/+390212345601"]
    if fail:
        assert outcome == ("failed", "injected failure")
    elif check:  # planned against the empty database it saw, in memory
        assert outcome == ("ok", ["create groups/office", "create accounts/+390212345601"])
    else:  # its own new file lost the race: it planned again against the committed one
        assert outcome == ("ok", [])
    assert db_rows(sqlite_dsn, "SELECT number FROM sb_accounts") == [("+390212345601",)]
    assert db_rows(sqlite_dsn, "PRAGMA journal_mode") == [("wal",)]
    assert set(leftovers(sqlite_dsn)) <= {"pbx.sqlite-shm", "pbx.sqlite-wal"}  # no half-built file beside it


def test_a_file_abandoned_by_a_killed_first_run_is_removed(tmp_path, sqlite_dsn):
    gone = multiprocessing.get_context("fork").Process(target=int)
    gone.start()
    gone.join()
    directory = os.path.dirname(sqlite_path(sqlite_dsn))
    os.makedirs(directory)
    abandoned = ".pbx.sqlite.new-%d-x1y2z3" % gone.pid
    for name in (abandoned, abandoned + "-journal", ".pbx.sqlite.new-%d-alive" % os.getpid()):
        open(os.path.join(directory, name), "w").close()
    engine.run(options(tmp_path, sqlite_dsn, [desk("+390212345601")]))
    assert leftovers(sqlite_dsn) == [".pbx.sqlite.new-%d-alive" % os.getpid()]


def test_check_mode_on_a_new_file_touches_nothing_on_disk(tmp_path):
    dsn = "sqlite:///%s" % (tmp_path / "not" / "yet" / "pbx.sqlite")
    result = engine.run(options(tmp_path, dsn, [desk("+390212345601")], check=True))
    assert result["changes"] == ["create groups/office", "create accounts/+390212345601"]
    assert not (tmp_path / "not").exists()
    with pytest.raises(SwitchboardError, match="does not exist: there is nothing to read"):
        gather.read(dsn, SIP_DOMAIN)
    assert not (tmp_path / "not").exists()


def test_a_failing_first_run_leaves_no_file_and_no_directory(tmp_path):
    dsn = "sqlite:///%s" % (tmp_path / "not" / "yet" / "pbx.sqlite")
    (tmp_path / "reports").write_text("a file where the report directory should be\n")
    with pytest.raises(SwitchboardError) as failure:
        engine.run(options(tmp_path, dsn, [desk("+390212345601")]))
    assert str(failure.value).startswith("cannot write the plan report to '%s/reports/plan-" % tmp_path)
    assert str(failure.value).endswith(".json': File exists")
    assert not (tmp_path / "not").exists()


def test_the_plan_file_is_written_before_the_commit(tmp_path, pbx_dsn):
    engine.run(options(tmp_path, pbx_dsn, [desk("+390212345601")]))
    os.rename(tmp_path / "reports", tmp_path / "old-reports")
    (tmp_path / "reports").write_text("not a directory\n")
    with pytest.raises(SwitchboardError, match="cannot write the plan report to"):
        engine.run(options(tmp_path, pbx_dsn, [desk("+390212345601"), desk("+390212345602")]))
    assert db_rows(pbx_dsn, "SELECT number FROM sb_accounts") == [("+390212345601",)]  # nothing was applied


# -- empty files, DSNs, plan files ---------------------------------------------------------------------------

def test_an_empty_sqlite_file_is_initialised_in_wal_mode(tmp_path, sqlite_dsn):
    path = sqlite_path(sqlite_dsn)
    os.makedirs(os.path.dirname(path))
    open(path, "w").close()
    engine.run(options(tmp_path, sqlite_dsn, [desk("+390212345601")], check=True))
    assert os.path.getsize(path) == 0 and sorted(os.listdir(os.path.dirname(path))) == ["pbx.sqlite"]
    engine.run(options(tmp_path, sqlite_dsn, [desk("+390212345601")]))
    assert db_rows(sqlite_dsn, "PRAGMA journal_mode") == [("wal",)]
    assert db_rows(sqlite_dsn, "SELECT number FROM sb_accounts") == [("+390212345601",)]


@pytest.mark.parametrize("dsn", ["sqlite:pbx.sqlite", "sqlite://db/pbx.sqlite", "sqlite:///pbx.sqlite",
                                 "sqlite:///./pbx.sqlite", "sqlite:///var/../pbx.sqlite", "sqlite:///~/pbx.sqlite",
                                 "sqlite:////pbx.sqlite", "sqlite:///var/lib/"])
def test_a_relative_looking_sqlite_dsn_is_refused(tmp_path, dsn):
    with pytest.raises(SwitchboardError) as failure:
        engine.run(options(tmp_path, dsn, [desk("+390212345601")]))
    assert str(failure.value) == (
        "switchboard_pbx_dsn %r: a SQLite DSN is sqlite:///ABSOLUTE/PATH to a file below a directory, e.g. "
        "sqlite:///var/lib/switchboard/pbx.sqlite; relative paths and files at the filesystem root are refused" % dsn)
    assert not os.path.exists("/pbx.sqlite")


def test_plan_files_are_pruned_to_the_newest(tmp_path, sqlite_dsn):
    for index in range(5):
        opts = options(tmp_path, sqlite_dsn, [desk("+390212345601", owner="Owner %d" % index)], keep_plan_files=3)
        engine.run(opts)
    plans = sorted(os.listdir(tmp_path / "reports"))
    assert len(plans) == 3
    assert '"Owner 4"' in (tmp_path / "reports" / plans[-1]).read_text()
    assert '"Owner 2"' in (tmp_path / "reports" / plans[0]).read_text()


# -- the real cause of a database failure ----------------------------------------------------------------------

def limit_pages(monkeypatch, pages):
    real = database._connect_sqlite

    def limited(path, *args, **kwargs):
        db = real(path, *args, **kwargs)
        if path != ":memory:":
            db.query("PRAGMA max_page_count = %d" % (pages(db) if callable(pages) else pages))
        return db
    monkeypatch.setattr(database, "_connect_sqlite", limited)


def test_a_full_disk_is_reported_as_such_and_nothing_is_written(tmp_path, sqlite_dsn, monkeypatch):
    engine.run(options(tmp_path, sqlite_dsn, [desk("+390212345601")]))
    digest = file_digest(sqlite_path(sqlite_dsn))
    limit_pages(monkeypatch, lambda db: db.query("PRAGMA page_count")[0][0] + 1)
    many = [desk("+3902123%05d" % i, owner="Someone with a long name %d" % i) for i in range(2000)]
    with pytest.raises(SwitchboardError) as failure:
        engine.run(options(tmp_path, sqlite_dsn, many))
    assert str(failure.value) == ("the PBX database %s failed while writing: database or disk is full; nothing was "
                                  "written" % sqlite_path(sqlite_dsn))
    monkeypatch.undo()
    assert file_digest(sqlite_path(sqlite_dsn)) == digest
    assert db_rows(sqlite_dsn, "SELECT count(*) FROM sb_accounts") == [(1,)]


def test_a_full_disk_on_a_new_file_leaves_nothing(tmp_path, monkeypatch):
    dsn = "sqlite:///%s" % (tmp_path / "db" / "pbx.sqlite")
    limit_pages(monkeypatch, 10)
    with pytest.raises(SwitchboardError) as failure:
        engine.run(options(tmp_path, dsn, [desk("+390212345601")]))
    assert str(failure.value) == ("the PBX database %s failed while writing: database or disk is full; nothing was "
                                  "written" % sqlite_path(dsn))
    assert not (tmp_path / "db").exists()


def test_a_connection_killed_mid_run_is_reported_as_such(tmp_path, pg_cluster, monkeypatch):
    dsn = pg_cluster.new_database("pbx_killed")
    engine.run(options(tmp_path, dsn, [desk("+390212345601")]))
    real = engine.apply_changes

    def killed(writer, changes):
        pid = writer.db.query("SELECT pg_backend_pid()")[0][0]
        db_rows(dsn, "SELECT pg_terminate_backend(?)", (pid,))
        real(writer, changes)
    monkeypatch.setattr(engine, "apply_changes", killed)
    with pytest.raises(SwitchboardError) as failure:
        engine.run(options(tmp_path, dsn, [desk("+390212345601"), desk("+390212345602")]))
    assert str(failure.value) == (
        "the PBX database %s failed while writing: server closed the connection unexpectedly; nothing was written"
        % database.redact_dsn(dsn))
    assert db_rows(dsn, "SELECT number FROM sb_accounts") == [("+390212345601",)]


def test_a_connection_lost_at_the_commit_says_the_outcome_is_unknown(tmp_path, pg_cluster, monkeypatch):
    dsn = pg_cluster.new_database("pbx_commit_lost")
    engine.run(options(tmp_path, dsn, [desk("+390212345601")]))
    real = database.Database.commit

    def lost(db):
        db_rows(dsn, "SELECT pg_terminate_backend(?)", (db.connection.get_backend_pid(),))
        real(db)
    monkeypatch.setattr(database.Database, "commit", lost)
    with pytest.raises(SwitchboardError) as failure:
        engine.run(options(tmp_path, dsn, [desk("+390212345601"), desk("+390212345602")]))
    assert str(failure.value) == (
        "the PBX database %s failed while committing: server closed the connection unexpectedly; whether the change "
        "was committed is unknown: the next run (or a check run) shows it" % database.redact_dsn(dsn))


# -- the write lock: only while writing, bounded, and who holds it ------------------------------------------------

def take_write_lock(dsn):
    """Another writer (Kamailio, another run): returns its open connection holding the lock."""
    if dsn.startswith("sqlite:"):
        connection = sqlite3.connect(sqlite_path(dsn), isolation_level=None, timeout=0)
        connection.execute("BEGIN IMMEDIATE")
        return connection
    import psycopg2
    connection = psycopg2.connect(dsn, application_name="held-by-test")
    connection.cursor().execute("SELECT pg_advisory_xact_lock(hashtext('switchboard.pbx'))")
    return connection


def test_reading_and_planning_take_no_lock_and_a_change_meanwhile_is_planned_again(tmp_path, pbx_dsn, monkeypatch):
    engine.run(options(tmp_path, pbx_dsn, [desk("+390212345601", username="7001")]))
    real = engine.make_plan
    calls = []

    def plan_while_another_writes(*args):
        if not calls:  # planning: a writer gets the lock at once and changes what the snapshot showed
            other = take_write_lock(pbx_dsn)
            if pbx_dsn.startswith("sqlite:"):
                other.execute("DELETE FROM dbaliases WHERE alias_username = '+390212345601'")
                other.execute("COMMIT")
            else:
                other.cursor().execute("DELETE FROM dbaliases WHERE alias_username = '+390212345601'")
                other.commit()
            other.close()
        calls.append(args)
        return real(*args)
    monkeypatch.setattr(engine, "make_plan", plan_while_another_writes)
    result = engine.run(options(tmp_path, pbx_dsn, [desk("+390212345601", username="7001", owner="Chiara Verdi")]))
    assert len(calls) == 2  # planned again, under the lock, on what was really there
    assert result["changes"] == ["update accounts/+390212345601 (owner, number aliases)"]
    assert db_rows(pbx_dsn, "SELECT alias_username FROM dbaliases") == [("+390212345601",)]


def test_an_unchanged_database_is_read_once(tmp_path, pbx_dsn, monkeypatch):
    engine.run(options(tmp_path, pbx_dsn, [desk("+390212345601")]))
    reads = []
    real = engine.read_actual
    monkeypatch.setattr(engine, "read_actual", lambda *args: reads.append(args) or real(*args))
    assert engine.run(options(tmp_path, pbx_dsn, [desk("+390212345601", owner="Chiara Verdi")]))["changes"] == [
        "update accounts/+390212345601 (owner)"]
    assert len(reads) == 1


def test_readers_never_wait_for_a_writer(tmp_path, pbx_dsn, monkeypatch):
    engine.run(options(tmp_path, pbx_dsn, [desk("+390212345601")]))
    real = engine.apply_changes
    seen = {}

    def read_while_writing(writer, changes):
        started = time.monotonic()
        seen["accounts"] = sorted(gather.read(pbx_dsn, SIP_DOMAIN, lock_timeout=5)[0].objects["accounts"])
        seen["seconds"] = time.monotonic() - started
        if not pbx_dsn.startswith("sqlite:"):
            seen["application"] = writer.db.query("SELECT application_name FROM pg_stat_activity "
                                                  "WHERE pid = pg_backend_pid()")[0][0]
        real(writer, changes)
    monkeypatch.setattr(engine, "apply_changes", read_while_writing)
    engine.run(options(tmp_path, pbx_dsn, [desk("+390212345601"), desk("+390212345602")]))
    assert seen["accounts"] == ["+390212345601"] and seen["seconds"] < 2
    assert seen.get("application", "switchboard") == "switchboard"


def test_the_write_lock_is_waited_for_a_bounded_time(tmp_path, sqlite_dsn):
    engine.run(options(tmp_path, sqlite_dsn, [desk("+390212345601")]))
    holder = take_write_lock(sqlite_dsn)
    try:
        started = time.monotonic()
        with pytest.raises(SwitchboardError) as failure:
            engine.run(options(tmp_path, sqlite_dsn, [desk("+390212345602")], lock_timeout=0.5))
        assert time.monotonic() - started < 10
        assert str(failure.value) == (
            "the PBX database %s stayed locked by another writer (Kamailio or another Switchboard run) for 0.5 s "
            "(lock_timeout): nothing was written, run again or raise lock_timeout" % sqlite_path(sqlite_dsn))
        assert sorted(gather.read(sqlite_dsn, SIP_DOMAIN)[0].objects["accounts"]) == ["+390212345601"]  # readers go on
    finally:
        holder.close()


def test_the_advisory_lock_says_who_holds_it(tmp_path, pg_cluster):
    dsn = pg_cluster.new_database("pbx_locked")
    engine.run(options(tmp_path, dsn, [desk("+390212345601")]))
    holder = take_write_lock(dsn)
    try:
        pid, since = db_rows(dsn, "SELECT pid, to_char(xact_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') "
                                  "FROM pg_stat_activity WHERE application_name = 'held-by-test'")[0]
        started = time.monotonic()
        with pytest.raises(SwitchboardError) as failure:
            engine.run(options(tmp_path, dsn, [desk("+390212345602")], lock_timeout=1))
        assert 1 <= time.monotonic() - started < 10
        assert str(failure.value) == (
            "the PBX database %s is being written by another Switchboard run, held by PostgreSQL session pid %d "
            "(application 'held-by-test', client 127.0.0.1, transaction since %s UTC): waited 1 s (lock_timeout), "
            "nothing was written; run again once it is done, or raise lock_timeout" % (database.redact_dsn(dsn), pid, since))
        assert sorted(gather.read(dsn, SIP_DOMAIN)[0].objects["accounts"]) == ["+390212345601"]  # readers go on
    finally:
        holder.close()
    assert db_rows(dsn, "SELECT number FROM sb_accounts") == [("+390212345601",)]


def test_a_parse_cache_that_cannot_be_written_never_fails_an_applied_run(tmp_path, sqlite_dsn):
    (tmp_path / "cache").write_text("a file where the cache directory should be\n")
    result = engine.run(options(tmp_path, sqlite_dsn, [desk("+390212345601")], cache_dir=str(tmp_path / "cache")))
    assert result["changed"] and result["changes"] == ["create groups/office", "create accounts/+390212345601"]
    assert db_rows(sqlite_dsn, "SELECT number FROM sb_accounts") == [("+390212345601",)]
