"""The run page's "App logs" section: the lines a run's code logged, as text (markup an
app logged stays text), with where each was logged."""

from __future__ import annotations

from typing import Any

import pyworkflow
from tests._workers import Worker, wait_for
from tests.web.dashboard_workflows import LOGGED_MARKUP
from tests.web.test_browser import browser, site, texts  # noqa: F401  (fixtures)

By = __import__("selenium.webdriver.common.by", fromlist=["By"]).By


def test_the_run_page_shows_its_app_log_as_text(
        browser: Any, site: str, workers: list[Worker]) -> None:  # noqa: F811
    run_id = pyworkflow.start("dash_logging")
    assert pyworkflow.wait_for_run(run_id, 30).status == "completed"
    browser.get(f"{site}/runs/{run_id}")
    rows = wait_for(lambda: texts(browser, "#app-log-table tbody tr"), 15,
                    message="the app log's rows")
    assert len(rows) == 2, rows
    assert "workflow" in rows[0] and "workflow says hello" in rows[0]
    assert "step dash_logging_step#1" in rows[1]
    assert f"step says {LOGGED_MARKUP}" in rows[1]  # the message is text, not markup
    assert texts(browser, "#app-log-table tr[data-level] td.mono")[:1] == ["info"]
    # A field is folded away; opened, its value is text too.
    browser.find_element(By.CSS_SELECTOR, "#app-log-table details summary").click()
    assert LOGGED_MARKUP in " ".join(texts(browser, "#app-log-table details dd"))
    assert not browser.find_elements(By.CSS_SELECTOR, "#app-log-table img")
    assert browser.execute_script("return window.__xss") is None
