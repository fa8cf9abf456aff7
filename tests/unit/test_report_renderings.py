"""The four renderings of one report model: golden files, the same counts in each, escaping, size limits, schemas.

Golden files live in tests/golden/reports/; after an intended change, rewrite them with
SWITCHBOARD_UPDATE_GOLDEN=1 and review the diff like code."""

import html.parser
import json
import os
import pathlib
import re
from xml.etree import ElementTree

import jsonschema
import pytest
import xmlschema

from ansible_collections.switchboard.pbx.plugins.module_utils import report
from ansible_collections.switchboard.pbx.plugins.module_utils.plan import Change
from ansible_collections.switchboard.pbx.plugins.module_utils.reports import html_page, markdown, model, render
from support import report_samples

TESTS = pathlib.Path(__file__).resolve().parent.parent
GOLDEN = TESTS / "golden" / "reports"
REPORT_SCHEMA = json.loads((TESTS.parent / "schemas" / "report.schema.json").read_text())
JUNIT_XSD = xmlschema.XMLSchema(str(TESTS / "support" / "junit.xsd"))
FORMATS = ("json", "md", "html", "junit")
SAMPLES = {"drift": report_samples.drift_model, "plan": report_samples.plan_model}


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("fmt", FORMATS)
def test_each_rendering_of_the_fixed_model_matches_its_golden_file(name, fmt):
    text = render.rendered(SAMPLES[name](), fmt)
    golden = GOLDEN / (name + render.SUFFIXES[fmt])
    if os.environ.get("SWITCHBOARD_UPDATE_GOLDEN"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


# --- the same counts in all four -------------------------------------------------------------------------------

class _SummaryCells(html.parser.HTMLParser):
    """The HTML summary's cells by their stable ids (count-KEY), and the verdict's exit code."""

    def __init__(self):
        super().__init__()
        self.counts, self.exit_code, self._current = {}, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if (attrs.get("id") or "").startswith("count-"):
            self._current = attrs["id"][len("count-"):]
            self.counts[self._current] = attrs["data-count"]
        if attrs.get("id") == "verdict":
            self.exit_code = int(attrs["data-exit-code"])

    def handle_data(self, data):
        if self._current:
            assert data == self.counts[self._current]  # what the reader sees is what the attribute says
            self._current = None


def counts_of_html(text):
    cells = _SummaryCells()
    cells.feed(text)
    assert cells.exit_code == int(cells.counts["exit_code"])
    return {key: float(value) if key == "coverage" else int(value) for key, value in cells.counts.items()}


def counts_of_markdown(text):
    labels = {label: key for key, label in markdown.words.SUMMARY_ROWS}
    found = {}
    for line in text.splitlines():
        match = re.fullmatch(r"\| (.+?) \| ([0-9.]+) \|", line)
        if match and match.group(1) in labels:
            key = labels[match.group(1)]
            found[key] = float(match.group(2)) if key == "coverage" else int(match.group(2))
    return found


def counts_of_junit(text):
    suites = ElementTree.fromstring(text).findall("testsuite")
    total = {name: sum(int(suite.get(name)) for suite in suites) for name in ("tests", "failures", "errors", "skipped")}
    cases = ElementTree.fromstring(text).iter("testcase")
    outcomes = [next((child.tag for child in case), "passed") for case in cases]
    assert total == {"tests": len(outcomes), "failures": outcomes.count("failure"), "errors": outcomes.count("error"),
                     "skipped": outcomes.count("skipped")}  # the attributes count the testcases they hold
    return {"total": total["tests"], "drift": total["failures"], "unreadable": total["errors"],
            "ignored": total["skipped"]}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_all_four_renderings_carry_the_same_counts(name):
    built = SAMPLES[name]()
    summary = json.loads(render.rendered(built, "json"))["summary"]
    keys = [key for key, _label in markdown.words.SUMMARY_ROWS]
    expected = {key: summary[key] for key in keys}
    assert counts_of_markdown(render.rendered(built, "md")) == expected
    assert counts_of_html(render.rendered(built, "html")) == expected
    assert counts_of_junit(render.rendered(built, "junit")) == {key: summary[key] for key in
                                                                ("total", "drift", "unreadable", "ignored")}
    assert expected == {key: built["summary"][key] for key in keys}  # and JSON is the model itself
    suites = ElementTree.fromstring(render.rendered(built, "junit")).findall("testsuite")
    assert {suite.get("name"): int(suite.get("tests")) for suite in suites} == {
        kind: sum(counts.values()) for kind, counts in summary["by_kind"].items()}


def test_junit_has_a_suite_per_kind_and_a_case_per_object_with_the_reasons():
    tree = ElementTree.fromstring(render.rendered(report_samples.drift_model(), "junit"))
    assert [(s.get("name"), s.get("tests"), s.get("failures"), s.get("errors"), s.get("skipped"))
            for s in tree.findall("testsuite")] == [("accounts", "4", "2", "0", "1"), ("devices", "2", "0", "1", "0"),
                                                    ("groups", "2", "1", "0", "0")]
    cases = {case.get("name"): case for case in tree.iter("testcase")}
    changed = cases["accounts/+390212345602"]
    assert changed.get("classname") == "accounts"
    assert changed.find("failure").get("message") == "fields_differ: owner, acl[0].deny"
    assert changed.find("failure").text.splitlines()[0] == "owner: Paolo Neri -> José Müller — 東京"
    assert cases["accounts/+390212345604"].find("skipped").get("message") == "accepted until the move | ticket OPS-42 <b>"
    assert cases["devices/reception-snom-d785"].find("error").get("message") == (
        "ssh 10.20.0.15:22: connection refused <timeout|2s>")
    assert cases["groups/legacy"].find("failure").get("message") == "on_platform_not_declared"
    assert list(cases["accounts/+390212345601"]) == []  # in sync: passed


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_junit_is_valid_against_the_junit_schema(name):
    JUNIT_XSD.validate(render.rendered(SAMPLES[name](), "junit"))


def test_the_junit_schema_check_catches_a_broken_file():
    broken = render.rendered(report_samples.drift_model(), "junit").replace(' hostname="ops-host"', "")
    with pytest.raises(xmlschema.XMLSchemaValidationError, match="hostname"):
        JUNIT_XSD.validate(broken)


def test_junit_replaces_characters_xml_cannot_carry():
    built = model.build("drift", [model.entry("devices/d1", "unreadable", detail="bad \x00\x1b byte")], {})
    tree = ElementTree.fromstring(render.rendered(built, "junit"))
    assert tree.find("testsuite/testcase/error").get("message") == "bad \ufffd\ufffd byte"


# --- escaping -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_html_escapes_every_value_and_loads_nothing(name):
    page = render.rendered(SAMPLES[name](), "html")
    assert "<script" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; | a|b &amp; *bold*" in page
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'">' in page
    assert not re.search(r"""\b(src|href)=["'](?!#)|@import|url\(""", page)  # only in-page links


def test_markdown_cells_cannot_break_the_table_or_carry_html():
    text = render.rendered(report_samples.drift_model(), "md")
    assert "<script" not in text and "<b>" not in text
    rows = [line for line in text.splitlines() if line.startswith("| accounts/") or line.startswith("| devices/")]
    assert rows and all(len(re.split(r"(?<!\\)\|", row)) == 7 for row in rows)  # 5 cells, whatever the values
    assert "| accounts/+390212345604 | changed (ignored) |  | description | fields\\_differ; ignored: accepted until " \
           "the move \\| ticket OPS-42 &lt;b&gt; |" in text


def test_html_shows_the_before_and_after_of_each_changed_field_and_the_provenance():
    page = render.rendered(report_samples.drift_model(), "html")
    assert ("<tr><td>owner</td><td><del>Paolo Neri</del></td><td><ins>José Müller — 東京</ins></td></tr>"
            "<tr><td>acl[0].deny</td><td><del>0.0.0.0/0</del></td><td><ins>10.0.0.0/8</ins></td></tr>") in page
    assert ("<dt>git commit</dt><dd>4b825dc642cb6eb9a060e54bf8d69288fbee4904 by Zoë Ops &lt;zoe@example.org&gt;, "
            "2026-11-22T09:00:00+01:00, with uncommitted local edits (Add the sales team)</dd>") in page
    assert "<dt>platform</dt><dd>pbx.test.example, database sqlite /var/lib/pbx/pbx.sqlite</dd>" in page
    assert "<dt>operator</dt><dd>ada@ops-host</dd>" in page
    assert ('<td class="address">accounts/+390212345602<br><small class="declared">declared at milano-office.yml: '
            'accounts[1]</small></td>') in page
    assert page.index('id="summary"') < page.index('id="context"') < page.index('class="kind"')


# --- many objects: folded, paged, capped ----------------------------------------------------------------------

def _many(count, status="missing", in_sync=0):
    objects = [model.entry("accounts/+39%08d" % n, status, reason="declared_not_on_platform",
                           after={"number": "+39%08d" % n, "owner": "Owner %d" % n}) for n in range(count)]
    objects += [model.entry("groups/g%06d" % n, "in_sync") for n in range(in_sync)]
    return model.build("drift", objects, report_samples.CONTEXT)


def test_markdown_stops_under_the_comment_limit_and_says_what_it_left_out():
    text = render.rendered(_many(3000), "md")
    assert len(text) <= markdown.MAX_CHARS
    shown = len(re.findall(r"^\| accounts/", text, re.M))
    assert 100 < shown < 3000
    assert ("**%d object(s) left out** to keep this comment under the forges' size limit: the full report, every "
            "object, is `drift.json` (the pipeline's artifact)." % (3000 - shown)) in text
    assert "<details><summary>3000 object(s) of accounts: show</summary>" in text


def test_markdown_folds_a_long_kind_and_lists_a_short_one_open():
    assert "<details>" in render.rendered(_many(markdown.FOLD_ROWS + 1), "md")
    short = render.rendered(_many(markdown.FOLD_ROWS, in_sync=7), "md")
    assert "<details>" not in short and "left out" not in short and "7 in sync, not listed." in short


def test_html_opens_the_first_rows_folds_the_rest_in_pages_and_lists_every_missing_object():
    count = html_page.OPEN_ROWS + html_page.PAGE_ROWS + 5
    page = render.rendered(_many(count, in_sync=1500), "html")
    assert page.count("<details") == 1 + 2 + 2  # the open rows, two pages, two pages of in-sync groups
    assert page.count('<details class="objects" open>') == 1
    assert "<summary>objects 1201 to 1205 of %d (folded)</summary>" % count in page
    assert "<summary>in sync: 1001 to 1500 of 1500 (folded)</summary>" in page
    assert all('<td class="address">accounts/+39%08d</td>' % n in page for n in range(count))


# --- schema and secrets ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_the_sample_models_are_valid_against_the_published_schema(name):
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(json.loads(render.rendered(SAMPLES[name](), "json")))


@pytest.mark.parametrize("damage, where", [
    (lambda m: m["objects"][1]["after"].update(password="Clear-Text-1"), "'Clear-Text-1' does not match"),
    (lambda m: m["objects"][1]["before"]["acl"][0].update(ha1="0cc175b9c0f1b6a831c399e269772661"), "False schema"),
    (lambda m: m.update(format_version=2), "1 was expected"),
    (lambda m: m["summary"].pop("coverage"), "'coverage' is a required property"),
])
def test_the_schema_refuses_a_secret_in_clear_and_a_wrong_shape(damage, where):
    built = report_samples.drift_model()
    damage(built)
    with pytest.raises(jsonschema.ValidationError, match=re.escape(where)):
        jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(built)


def _undescribed(schema, path="#"):
    """The properties of the schema that carry no description (each field is documented)."""
    if isinstance(schema, list):
        return [p for n, item in enumerate(schema) for p in _undescribed(item, "%s/%d" % (path, n))]
    if not isinstance(schema, dict):
        return []
    found = [path + "/properties/" + name for name, sub in schema.get("properties", {}).items()
             if isinstance(sub, dict) and "description" not in sub]
    return found + [p for key, sub in schema.items() for p in _undescribed(sub, path + "/" + key)]


def test_every_field_of_the_report_schema_is_described():
    assert REPORT_SCHEMA["properties"]["format_version"] == {"const": model.FORMAT_VERSION, "description": (
        "The version of this format. Readers refuse a version they do not know (switchboard report does).")}
    assert _undescribed(REPORT_SCHEMA) == []
    definitions = REPORT_SCHEMA["$defs"]
    assert tuple(definitions["object"]["properties"]["status"]["enum"]) == model.STATUSES
    assert tuple(definitions["object"]["properties"]["actions"]["items"]["enum"]) == model.ACTIONS
    assert tuple(definitions["statusCounts"]["required"]) == model.STATUSES


def test_a_password_in_a_change_never_reaches_any_rendering():
    account = {"number": "+390212345610", "group": "sales", "type": "snom", "owner": "Ada"}
    change = Change("accounts", "+390212345610", "update", ["owner", "password"],
                    before=dict(account, password="Old-Secret-Pass-1"),
                    after=dict(account, owner="Ada L.", password="New-Secret-Pass-2"))
    built = model.from_plan([report.describe(change)], report_samples.CONTEXT)
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(built)
    for fmt in FORMATS:
        text = render.rendered(built, fmt)
        assert "Secret-Pass" not in text, fmt
        assert "********" in text or fmt == "md", fmt  # Markdown names the changed field, never a value
    failure = ElementTree.fromstring(render.rendered(built, "junit")).find("testsuite/testcase/failure")
    assert failure.text == "owner: Ada -> Ada L.\npassword: ******** -> ******** (changed)"


def test_an_unreadable_object_says_its_machine_reason_and_its_cause_in_every_rendering():
    built = model.build("drift", [model.entry("devices/desk-1", "unreadable", reason="device_unreachable",
                                              detail="ssh 10.0.0.1:22: timed out")], report_samples.CONTEXT)
    assert ElementTree.fromstring(render.rendered(built, "junit")).find("testsuite/testcase/error").get("message") == (
        "device_unreachable: ssh 10.0.0.1:22: timed out")
    assert "| devices/desk-1 | unreadable |  |  | device\\_unreachable: ssh 10.0.0.1:22: timed out |" in render.rendered(
        built, "md")
    assert "<td>device_unreachable: ssh 10.0.0.1:22: timed out</td></tr>" in render.rendered(built, "html")


def test_missing_and_unreadable_objects_come_first_so_the_open_rows_and_a_capped_comment_show_them():
    objects = [model.entry("accounts/+39%08d" % n, "changed", reason="fields_differ", fields=["owner"],
                           before={"owner": "a"}, after={"owner": "b"}) for n in range(5000)]
    objects += [model.entry("accounts/+3999999999", "missing", reason="declared_not_on_platform"),
                model.entry("accounts/+3999999998", "unreadable", detail="row damaged")]
    built = model.build("drift", objects, report_samples.CONTEXT)
    page = render.rendered(built, "html")
    open_part = page[:page.index('<details class="objects page">')]
    assert open_part.index("accounts/+3999999998") < open_part.index("accounts/+3999999999") < open_part.index(
        "accounts/+3900000000")
    comment = render.rendered(built, "md")
    assert "| accounts/+3999999999 | missing |" in comment and "left out" in comment
