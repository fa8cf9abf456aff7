"""A run's result tells the seconds of each phase (make bench's breakdown): the files checked by worker processes
while the platform is read are marked as in parallel, a skipped run has only its check. Real SQLite."""

from conftest import SIP_DOMAIN, write_state
from ansible_collections.switchboard.pbx.plugins.module_utils import engine

STATE = {"groups": [{"name": "office"}],
         "accounts": [{"number": "+390212345601", "group": "office", "type": "snom", "username": "7001",
                       "password": "Desk-5601-pw"}]}
LOADED = {"parse and per-file validation", "validation across files"}
PLANNED = {"read", "plan", "report", "write", "waiting for the plan file", "total"}


def test_each_run_times_the_phases_it_went_through(tmp_path, sqlite_dsn):
    state = write_state(tmp_path / "state", {"s.yml": STATE})
    options = engine.Options(str(state), sqlite_dsn, SIP_DOMAIN, report_dir=str(tmp_path / "reports"),
                             cache_dir=str(tmp_path / "cache"))
    first = engine.run(options)["timings"]  # no database yet: loaded in this process, before anything is read
    assert set(first) == LOADED | PLANNED
    assert all(seconds >= 0 for seconds in first.values())
    assert first["total"] >= first["parse and per-file validation"] + first["write"]
    assert set(engine.run(options)["timings"]) == {"unchanged-run check", "total"}
    (state / "s.yml").write_text((state / "s.yml").read_text() + "\n")  # the bytes change, nothing declared does
    # A plain-text password keeps the file out of the parse cache: its earlier version is unknown, and it declares a
    # group, so the run is complete; the file was parsed (and its objects listed) to find that out.
    compared = engine.run(options)["timings"]
    checks = {"unchanged-run check", "incremental-run check", "parse and per-file validation", "finding the changed objects"}
    parallel = {"parse and per-file validation (in parallel)", "waiting for the load"}
    assert set(compared) == LOADED | parallel | PLANNED | checks
