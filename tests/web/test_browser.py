"""The dashboard in a real headless Chromium (Selenium with the system's chromium and
chromedriver): the list shows started runs, filters work, the run page draws the
timeline and the event log, a hook resumed from the page completes its run, Cancel
and Retry show only where they apply and ask first, and the pages work under their
Content-Security-Policy (the browser's console reports no violation).

Skipped, with the reason, when selenium or a Chromium with its driver is missing
(``.ci/run`` installs them where it can).
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

import pyworkflow
from pyworkflow.web import create_app
from pyworkflow.web.server import bind, config, url_of
from tests._workers import Worker, wait_for
from tests.web.conftest import pending_hook

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
from selenium.common.exceptions import (  # noqa: E402
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or \
    shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM or not DRIVER:
        pytest.skip("no Chromium and chromedriver on this machine "
                    "(apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--disable-gpu", "--window-size=1400,1000"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER),
                                  options=options)
    except WebDriverException as exc:
        pytest.skip(f"Chromium would not start: {exc.msg}")
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(rt: Any) -> Iterator[str]:
    """The app with actions on, under uvicorn on a thread (port 0)."""
    sock = bind("127.0.0.1", 0)
    server = uvicorn.Server(config(create_app(actions=True)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 10, message="uvicorn to start")
    yield url_of(sock)
    server.should_exit = True
    thread.join(15)


def attrs(browser: Any, css: str, name: str) -> list[str]:
    """``name`` of every element matching ``css``, read again when the page's polling
    replaced an element between the find and the read (a stale element)."""
    for _ in range(50):
        try:
            return [e.get_attribute(name) for e in browser.find_elements(By.CSS_SELECTOR, css)]
        except StaleElementReferenceException:
            continue
    raise AssertionError(f"{css}: the elements kept being replaced while read")


def texts(browser: Any, css: str) -> list[str]:
    """The text of every element matching ``css`` (read again if one went stale)."""
    for _ in range(50):
        try:
            return [e.text for e in browser.find_elements(By.CSS_SELECTOR, css)]
        except StaleElementReferenceException:
            continue
    raise AssertionError(f"{css}: the elements kept being replaced while read")


def first_text(browser: Any, css: str) -> str | None:
    found = texts(browser, css)
    return found[0] if found else None


def rows(browser: Any) -> list[str]:
    return attrs(browser, "#runs tr[data-run-id]", "data-run-id")


def test_list_shows_started_runs_and_filters_work(browser: Any, site: str,
                                                  workers: list[Worker]) -> None:
    failed = pyworkflow.start("dash_failing")
    waiting = pyworkflow.start("dash_order", "o-browser-list")
    pyworkflow.wait_for_run(failed, 30)
    pending_hook(waiting)
    browser.get(site + "/")
    wait_for(lambda: {failed, waiting} <= set(rows(browser)), 15,
             message="both runs in the list")
    browser.get(site + "/?status=failed")
    wait_for(lambda: failed in rows(browser), 15, message="the failed run under status=failed")
    assert waiting not in rows(browser)
    box = browser.find_element(By.ID, "f-q")
    box.clear()
    box.send_keys(waiting[-10:])
    browser.find_element(By.ID, "f-status").send_keys("any status")
    wait_for(lambda: rows(browser) == [waiting], 15, message="the text filter")
    counts = wait_for(lambda: attrs(browser, "#counts .count", "data-status"), 15,
                      message="the counts per status")
    assert "failed" in counts
    pyworkflow.cancel_workflow(waiting)


def test_run_page_shows_timeline_and_events_and_resumes_a_hook(
        browser: Any, site: str, workers: list[Worker]) -> None:
    run_id = pyworkflow.start("dash_order", "o-browser")
    pending_hook(run_id)
    browser.get(f"{site}/runs/{run_id}")
    lanes = wait_for(lambda: attrs(browser, "#timeline .lane", "data-kind"), 15,
                     message="timeline lanes")
    assert lanes == ["step", "sleep", "child", "hook"]
    assert browser.find_elements(By.CSS_SELECTOR, "#timeline .bar.seg-retry_wait")
    types = set(attrs(browser, "#events-table tr", "data-type"))
    assert {"workflow_started", "step_failed", "hook_created"} <= types
    assert "waiting for approval" in (first_text(browser, "#values") or "")
    box = wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".hook-payload"), 15,
                   message="the hook's payload box")[0]
    box.send_keys('{"approved": true, "by": "browser"}')
    browser.find_element(By.CSS_SELECTOR, ".hook-resume").click()
    result = pyworkflow.get_result(run_id, timeout=30)
    assert result["approval"] == {"approved": True, "by": "browser"}
    wait_for(lambda: first_text(browser, "#status") == "completed", 15,
             message="the page to show the run completed")
    assert "browser" in (first_text(browser, "#result") or "")


def test_schedules_page_pauses_resumes_and_triggers(browser: Any, site: str,
                                                    workers: list[Worker]) -> None:
    sid = pyworkflow.create_schedule("dash_child", interval="1h", args=["o-browser-sched"],
                                     schedule_id=f"dash-browser-{uuid.uuid4().hex[:8]}")
    row_css = f'#schedules tr[data-schedule-id="{sid}"]'

    def row_status() -> str | None:
        found = attrs(browser, row_css, "data-status")
        return found[0] if found else None

    try:
        browser.get(site + "/")
        browser.find_element(By.ID, "nav-schedules").click()
        wait_for(lambda: row_status() == "active", 15, message="the schedule in the list")
        assert "every 3600s" in (first_text(browser, row_css) or "")
        browser.find_element(By.CSS_SELECTOR, f"{row_css} .sched-pause").click()
        wait_for(lambda: row_status() == "paused", 15, message="the row to show it paused")
        assert pyworkflow.get_schedule(sid).status == "paused"
        browser.find_element(By.CSS_SELECTOR, f"{row_css} .sched-resume").click()
        wait_for(lambda: row_status() == "active", 15, message="the row to show it resumed")
        browser.find_element(By.CSS_SELECTOR, f"{row_css} .sched-trigger").click()
        browser.switch_to.alert.accept()  # "Start a run of dash_child now?"
        run_id = wait_for(lambda: first_text(browser, f"{row_css} a.mono"), 15,
                          message="the triggered run's link")
        href = attrs(browser, f"{row_css} a.mono", "href")[0]
        assert href == f"{site}/runs/{run_id}"
        wait_for(lambda: pyworkflow.get_schedule(sid).last_run_id == run_id, 15,
                 message="the schedule's last run")
        pyworkflow.wait_for_run(run_id, 30)
        browser.get(href)  # the row is redrawn by each poll: follow its link by address

        wait_for(lambda: first_text(browser, "#status") == "completed", 30,
                 message="the triggered run's page to show it completed")
    finally:
        pyworkflow.delete_schedule(sid)


def csp_violations(browser: Any) -> list[str]:
    return [e["message"] for e in browser.get_log("browser")
            if "Content Security Policy" in e["message"]]


def shown(browser: Any, element_id: str) -> bool:
    found = browser.find_elements(By.ID, element_id)
    return bool(found) and bool(found[0].is_displayed())


def test_cancel_and_retry_show_where_they_apply_and_ask_first(
        browser: Any, site: str, workers: list[Worker]) -> None:
    browser.get_log("browser")  # drop what earlier pages logged
    waiting = pyworkflow.start("dash_order", "o-browser-confirm")
    pending_hook(waiting)
    browser.get(f"{site}/runs/{waiting}")
    wait_for(lambda: shown(browser, "act-cancel"), 15, message="Cancel on a waiting run")
    assert not shown(browser, "act-retry")
    widths = wait_for(lambda: browser.execute_script(
        "return [...document.querySelectorAll('#timeline .bar')].map(b => b.style.width)"),
        15, message="the timeline's bars")
    assert all(w.endswith("%") for w in widths), widths  # styled through the CSSOM

    browser.find_element(By.ID, "act-cancel").click()
    assert "Cancel this run?" in browser.switch_to.alert.text
    browser.switch_to.alert.dismiss()
    assert pyworkflow.get_workflow_run(waiting).status != "cancelled"
    browser.find_element(By.ID, "act-cancel").click()
    browser.switch_to.alert.accept()
    assert pyworkflow.wait_for_run(waiting, 30).status == "cancelled"
    wait_for(lambda: not shown(browser, "act-cancel"), 15,
             message="Cancel gone once the run is cancelled")
    assert not shown(browser, "act-retry")

    failed = pyworkflow.start("dash_failing")
    pyworkflow.wait_for_run(failed, 30)
    browser.get(f"{site}/runs/{failed}")
    wait_for(lambda: shown(browser, "act-retry"), 15, message="Retry on a failed run")
    assert not shown(browser, "act-cancel")
    browser.find_element(By.ID, "act-retry").click()
    assert "Retry this run?" in browser.switch_to.alert.text
    browser.switch_to.alert.dismiss()
    assert (first_text(browser, "#action-message") or "") == ""
    assert csp_violations(browser) == []
