"""The auditors' HTML page in a real headless browser (Debian's chromium): it makes no request, its screenshot shows
the summary in the verdict's colour, and the rendered DOM has the summary before the first table of objects."""

import json
import os
import pathlib
import subprocess

import pytest

from ansible_collections.switchboard.pbx.plugins.module_utils.reports import html_page, render
from support import png, report_samples

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--force-color-profile=srgb", "--window-size=1280,900"]
BROWSER_ITSELF = "not an origin"  # the initiator of Chromium's own update and account checks: not the page's requests

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (make test installs it)")


def chromium(tmp_path, url, *flags):
    done = subprocess.run([CHROMIUM] + FLAGS + ["--user-data-dir=%s" % (tmp_path / "profile")] + list(flags) + [url],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def requests_made(net_log):
    """(url, initiator) of every URL request in a Chromium net log."""
    log = json.loads(net_log.read_text())
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [(event["params"]["url"], event["params"].get("initiator")) for event in log["events"]
            if event["type"] == start and "url" in event.get("params", {})]  # the event's end carries no url


def page_requests(tmp_path, page):
    net_log = tmp_path / "net.json"
    chromium(tmp_path, page.as_uri(), "--log-net-log=%s" % net_log, "--screenshot=%s" % (tmp_path / "shot.png"))
    return [(url, initiator) for url, initiator in requests_made(net_log) if initiator != BROWSER_ITSELF]


@pytest.fixture
def drift_page(tmp_path):
    [path] = render.write(report_samples.drift_model(), ["html"], str(tmp_path / "reports"), "drift")
    return pathlib.Path(path)


def test_the_net_log_would_show_a_request_of_the_page(tmp_path):
    """The control: a page that loads an image is caught, so an empty list below means no request."""
    page = tmp_path / "control.html"
    page.write_text('<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/probe.png" alt=""></body></html>')
    assert [url for url, _initiator in page_requests(tmp_path, page)] == ["http://127.0.0.1:9/probe.png"]


def test_the_report_page_makes_no_request_and_its_screenshot_shows_the_summary(tmp_path, drift_page):
    assert page_requests(tmp_path, drift_page) == []
    width, height, rows = png.top_rows((tmp_path / "shot.png").read_bytes(), 120)
    assert (width, height) == (1280, 900)
    verdict = tuple(int(html_page.VERDICT_COLOURS["error"][i:i + 2], 16) for i in (1, 3, 5))  # the sample exits 1
    pixels = [pixel for row in rows for pixel in row]
    assert pixels.count(verdict) > len(pixels) // 2  # the summary's band fills the top of the page
    assert len(set(pixels)) > 20  # and has text on it: not a blank colour


def test_the_rendered_page_has_the_summary_before_the_first_table_of_objects(tmp_path, drift_page):
    dom = chromium(tmp_path, drift_page.as_uri(), "--dump-dom")
    assert '<p id="verdict" data-exit-code="1">error (exit code 1): 1 object(s) could not be read; the report is ' \
           'incomplete</p>' in dom
    assert 0 < dom.index('id="count-missing" data-count="1"') < dom.index('<table class="objects">')
    assert "<script" not in dom and "&lt;script&gt;alert('x')&lt;/script&gt;" in dom
