"""ONE fixed report model, as a plan and as drift, that the golden files, the schema test and the browser test render.

It holds every status, an ignored object, unicode, and values that must be escaped (<script>, | pipes, & and *)."""

from ansible_collections.switchboard.pbx.plugins.module_utils.reports import model

HOSTILE = "<script>alert('x')</script> | a|b & *bold* `code`"
CONTEXT = {
    "generated_at": "2026-11-22T10:15:00Z", "tool": "switchboard.pbx 0.1.0", "mode": "merged",
    "operator": "ada@ops-host", "platform": {"sip_domain": "pbx.test.example",
                                             "database": {"engine": "sqlite", "path": "/var/lib/pbx/pbx.sqlite"}},
    "state": {"dir": "/srv/state", "git": {"commit": "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
                                           "author": "Zoë Ops <zoe@example.org>", "committed_at": "2026-11-22T09:00:00+01:00",
                                           "subject": "Add the sales team", "dirty": True}},
}
MASK = "********"


def _account(number, owner, **more):
    return dict({"number": number, "group": "milano-office", "type": "snom", "owner": owner, "password": MASK}, **more)


def drift_model():
    objects = [
        model.entry("accounts/+390212345601", "in_sync"),
        model.entry("accounts/+390212345602", "changed", reason="fields_differ", fields=["owner", "acl[0].deny"],
                    before=_account("+390212345602", "Paolo Neri", acl=[{"deny": "0.0.0.0/0"}]),
                    after=_account("+390212345602", "José Müller — 東京", acl=[{"deny": "10.0.0.0/8"}]),
                    declared_at="milano-office.yml: accounts[1]"),
        model.entry("accounts/+390212345603", "missing", reason="declared_not_on_platform",
                    after=_account("+390212345603", HOSTILE), declared_at="milano-office.yml: accounts[2]"),
        model.entry("accounts/+390212345604", "changed", reason="fields_differ", fields=["description"],
                    before=_account("+390212345604", "Chiara Verdi", description="old"),
                    after=_account("+390212345604", "Chiara Verdi", description="new"),
                    ignored="accepted until the move | ticket OPS-42 <b>"),
        model.entry("groups/field-sales", "in_sync"),
        model.entry("groups/legacy", "unmanaged", reason="on_platform_not_declared",
                    before={"name": "legacy", "description": HOSTILE}),
        model.entry("devices/reception-snom-d785", "unreadable",
                    detail="ssh 10.20.0.15:22: connection refused <timeout|2s>"),
        model.entry("devices/accounts-snom-d717", "in_sync"),
    ]
    return model.build("drift", objects, CONTEXT)


def plan_descriptions():
    """report.describe()'s dicts of one plan (passwords already masked, as describe does)."""
    return [
        {"address": "accounts/+390212345603", "action": "create", "fields": [], "before": None,
         "after": _account("+390212345603", HOSTILE), "declared_at": "milano-office.yml: accounts[2]"},
        {"address": "accounts/+390212345602", "action": "update", "fields": ["owner", "password"],
         "before": _account("+390212345602", "Paolo Neri"),
         "after": _account("+390212345602", "José Müller — 東京", password=MASK + " (changed)")},
        {"address": "accounts/+390212345605", "action": "replace", "fields": ["number"],
         "before": _account("+390212345699", "Ugo"), "after": _account("+390212345605", "Ugo")},
        {"address": "groups/legacy", "action": "delete", "fields": [], "before": {"name": "legacy"}, "after": None},
    ]


def plan_model():
    return model.from_plan(plan_descriptions(), dict(CONTEXT, mode="overridden"))
