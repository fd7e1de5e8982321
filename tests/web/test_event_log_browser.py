"""The run page's event log in a real headless Chromium (issue 28, item 3): one row per
event with its UTC ISO time and the local time, its type, call id and the fields of its
type; a failed step's traceback as preformatted text with real line breaks; raw data
folded away; run data rendered as text; no Cancel or Retry on a completed run.

Shares the Chromium and the served app of ``test_browser`` (skipped like it without
Chromium).
"""

from __future__ import annotations

import re
from typing import Any

import pyworkflow
from tests._workers import Worker, wait_for
from tests.web.conftest import pending_hook
from tests.web.test_browser import browser, shown, site, texts  # noqa: F401  (fixtures)

By = __import__("selenium.webdriver.common.by", fromlist=["By"]).By
ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
XSS = "<img src=x onerror=window.__xss=1>"


def row_text(browser: Any, kind: str, cell: str) -> list[str]:  # noqa: F811
    return texts(browser, f'#events-table tr[data-type="{kind}"] {cell}')


def test_event_log_rows_are_formatted_with_tracebacks_as_text(
        browser: Any, site: str, workers: list[Worker]) -> None:  # noqa: F811
    run_id = pyworkflow.start("dash_order", "o-event-log")
    pyworkflow.resume_hook(pending_hook(run_id), {"note": XSS})
    assert pyworkflow.wait_for_run(run_id, 30).status == "completed"
    browser.get(f"{site}/runs/{run_id}")
    wait_for(lambda: row_text(browser, "workflow_completed", "td"), 15,
             message="the event log's rows")

    failed = row_text(browser, "step_failed", ".ev-detail")[0]
    assert failed.startswith("dash_flaky · attempt 1/3 · took "), failed
    assert "RuntimeError: first attempt always fails" in failed
    assert re.fullmatch(r"#\d+", row_text(browser, "step_failed", ".ev-call")[0])
    when = row_text(browser, "step_failed", ".ev-time")[0]
    assert re.fullmatch(rf"{ISO} local (\d{{4}}-\d\d-\d\d )?\d\d:\d\d:\d\d [+-]\d\d:\d\d", when), \
        when

    trace = texts(browser, '#events-table tr[data-type="step_failed"] pre.traceback')[0]
    lines = trace.split("\n")
    assert lines[0] == "Traceback (most recent call last):" and len(lines) > 3, trace
    assert lines[-1] == "RuntimeError: first attempt always fails"
    assert "\\n" not in " ".join(texts(browser, "#events-table"))

    # Raw data is folded away; opened, a value is shown whole, as text.
    details = browser.find_element(By.CSS_SELECTOR,
                                   '#events-table tr[data-type="hook_received"] details')
    assert details.get_attribute("open") is None
    received = row_text(browser, "hook_received", ".ev-detail")[0]
    assert XSS in received  # the payload is text, not markup
    assert not browser.find_elements(By.CSS_SELECTOR, "#events-table img")
    assert browser.execute_script("return window.__xss") is None

    started = row_text(browser, "child_started", ".ev-detail")[0]
    assert re.fullmatch(r"child run-\w+ · workflow dash_child", started), started

    wait_for(lambda: texts(browser, "#status") == ["completed"], 15,
             message="the page to show the run completed")
    assert not shown(browser, "act-cancel")
    assert not shown(browser, "act-retry")
