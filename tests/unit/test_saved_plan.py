"""Saved plans (apply --plan): what a plan's digests cover — never a password or an HA1 — and how a plan that no
longer holds is told, object by object."""

from ansible_collections.switchboard.pbx.plugins.module_utils import model, saved_plan
from ansible_collections.switchboard.pbx.plugins.module_utils.loader import Document
from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.store import Actual, PbxRows

PLATFORM = {"sip_domain": "pbx.example", "mode": "merged", "database": "file /x.sqlite"}


def declared(password="First-Password-1", owner="Anna"):
    return model.build([Document("a.yml", {"groups": [{"name": "office"}], "accounts": [
        {"number": "+390212345601", "group": "office", "username": "7001", "password": password, "owner": owner}]})])


def actual(ha1="a" * 32, owner="Anna"):
    account = dict(declared().objects("accounts")["+390212345601"], owner=owner)
    rows = PbxRows(ha1, ha1, frozenset(["+390212345601"]), False, main_number="+390212345601")
    return Actual({"accounts": {"+390212345601": account}, "groups": {}}, {}, {"7001": rows})


def description(action="update", fields=("description",), before=None, after=None):
    return {"address": "accounts/+390212345601", "action": action, "fields": list(fields),
            "before": before or {"owner": "Anna"}, "after": after or {"owner": "Anna", "description": "desk"}}


def check(state=None, platform=None, descriptions=None):
    return saved_plan.apply_check(state or declared(), platform or actual(), descriptions or [description()], PLATFORM)


def objects(descriptions):
    from ansible_collections.switchboard.pbx.plugins.module_utils.reports.model import from_plan_description

    return {d["address"]: from_plan_description(d) for d in descriptions}


def test_no_digest_covers_a_password_or_an_ha1():
    assert saved_plan.declared_digest(declared("First-Password-1")) == saved_plan.declared_digest(
        declared("Other-Password-2"))
    assert saved_plan.ActualDigests(actual("a" * 32)).of("accounts", "+390212345601") == saved_plan.ActualDigests(
        actual("b" * 32)).of("accounts", "+390212345601")
    text = repr(check())
    assert "First-Password-1" not in text and "a" * 32 not in text


def test_the_same_plan_holds():
    assert saved_plan.moves(check(), check(), objects([description()]), objects([description()]), declared()) == []


def test_each_kind_of_move_is_named():
    saved = check()
    moved_platform = check(platform=actual(owner="Bruno"))
    assert saved_plan.moves(saved, moved_platform, objects([description()]),
                            objects([description(before={"owner": "Bruno"})]), declared()) == [
        "accounts/+390212345601 changed on the platform since the plan was made (owner)"]
    other_fields = check(descriptions=[description(fields=["description", "owner"])])
    assert saved_plan.moves(saved, other_fields, {}, {}, declared()) == [
        "accounts/+390212345601: the plan was update (description), now it is update (description, owner)"]
    nothing = saved_plan.apply_check(declared(), actual(), [], PLATFORM)
    assert saved_plan.moves(saved, nothing, {}, {}, declared()) == [
        "accounts/+390212345601 no longer needs the planned update (description): it changed since the plan was made"]
    assert saved_plan.moves(nothing, saved, {}, {}, declared()) == [
        "accounts/+390212345601 now needs update (description), which the plan does not include"]
    assert saved_plan.moves(nothing, saved_plan.apply_check(declared(owner="Carla"), actual(), [], PLATFORM), {}, {},
                            declared()) == [
        "the declared state changed since the plan was made (in objects the plan does not change)"]
    elsewhere = saved_plan.apply_check(declared(), actual(), [], dict(PLATFORM, database="file /y.sqlite"))
    assert saved_plan.moves(nothing, elsewhere, {}, {}, declared()) == [
        "the plan was made for database 'file /x.sqlite', this run is for 'file /y.sqlite'"]


def test_an_object_no_longer_declared_and_a_generated_username_that_is_no_move():
    empty = model.build([Document("a.yml", {"groups": [{"name": "office"}]})])
    assert saved_plan.moves(check(), saved_plan.apply_check(empty, actual(), [], PLATFORM), {}, {}, empty) == [
        "accounts/+390212345601 is no longer declared as planned"]
    created = [description("create", (), {}, {"owner": "Anna", "username": "1000000001"})]
    again = [description("create", (), {}, {"owner": "Anna", "username": "1000000002"})]
    assert saved_plan.moves(check(descriptions=created), check(descriptions=again), objects(created), objects(again),
                            declared()) == []


def test_the_refusal_names_the_first_moves_and_counts_the_rest():
    found = ["move %d" % i for i in range(25)]
    text = str(saved_plan.refusal("plan.json", found))
    assert text.startswith("the saved plan plan.json no longer holds, nothing was written: move 0; move 1; ")
    assert text.endswith("move 19; and 5 more; plan again")


def test_stray_kamailio_rows_are_digested_by_key_and_by_the_account_they_are_in_the_way_of():
    from ansible_collections.switchboard.pbx.plugins.module_utils.pbx.kamailio_rows import KamailioRow

    def with_rows(*rows):
        platform = actual()
        platform.unknown_rows = list(rows)
        return saved_plan.ActualDigests(platform)

    stray = KamailioRow("subscriber", 7, "ghost", "pbx.example", "subscriber ghost@pbx.example", "no account")
    moved = KamailioRow("subscriber", 8, "ghost", "pbx.example", "subscriber ghost@pbx.example", "no account")
    assert with_rows(stray).of("kamailio", "subscriber/ghost@pbx.example") != with_rows(moved).of(
        "kamailio", "subscriber/ghost@pbx.example")
    assert with_rows().of("kamailio", "subscriber/ghost@pbx.example") is None
    in_the_way = KamailioRow("dbaliases", 9, "+390212345601", "pbx.example", "alias to 9999", "second target",
                             username="7001")
    assert with_rows(in_the_way).of("accounts", "+390212345601") != with_rows().of("accounts", "+390212345601")
