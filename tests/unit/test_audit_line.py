"""`switchboard history`'s line: who (and the Ansible controller when it is someone else), the door, the commit."""

from ansible_collections.switchboard.pbx.plugins.module_utils import audit

ROW = {"id": 7, "at": "2026-11-22 20:44:58", "operator": "root@pbx1", "controller_user": "ada@laptop",
       "door": "switchboard.pbx.platform", "mode": "overridden", "state_dir": "/srv/state",
       "state_commit": "f246bf843f6f1e2bc042e708fd01ee63f47efa97", "state_dirty": 0, "plan_sha256": "ab" * 32,
       "plan_file": "/r/plan.json", "change_count": 3, "summary": '{"accounts": {"create": 2, "delete": 1}}'}


def test_a_row_becomes_an_entry_with_its_counts_in_words():
    entry = audit.entry(dict(ROW))
    assert (entry["summary"], entry["state_dirty"], entry["message"]) == (
        {"accounts": {"create": 2, "delete": 1}}, False, "created 2 accounts, deleted 1 account")
    assert audit.entry(dict(ROW, state_commit=None, state_dirty=None))["state_dirty"] is None


def test_the_line_names_the_controller_when_another_user_ran_the_module():
    assert audit.line(audit.entry(dict(ROW))) == (
        "2026-11-22 20:44:58 UTC  root@pbx1 (Ansible controller ada@laptop)  switchboard.pbx.platform (overridden)  "
        "commit f246bf843f6f  created 2 accounts, deleted 1 account")
    assert audit.line(audit.entry(dict(ROW, controller_user=None, state_commit=None, state_dirty=None, door="engine",
                                       summary="{}"))) == (
        "2026-11-22 20:44:58 UTC  root@pbx1  engine (overridden)  state not in git  "
        "no change: the platform matches the declared state")
    assert audit.line(audit.entry(dict(ROW, controller_user="root@pbx1", state_dirty=1))) == (
        "2026-11-22 20:44:58 UTC  root@pbx1  switchboard.pbx.platform (overridden)  commit f246bf843f6f with local edits  "
        "created 2 accounts, deleted 1 account")
