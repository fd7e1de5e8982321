"""The dashboard's queues page in a real headless Chromium (issue 26): with a limited
workflow holding its slots and a run waiting for one, a step deferred by a rate limit,
and turns queued behind a busy worker, the page shows the queue's backlog and its
worker, the slots held per key (held, max, waiting) and the rate limit's state (next
free start, reserved starts); a limit key and a rate limit key that are markup are
shown as text, never run; and the page keeps to its Content-Security-Policy.

Two workers: one reads ``qpage`` (the limited and rated runs), one reads
``qpage-backlog`` with a single process that a long step keeps, so the runs started
after it wait in that queue. Shares the Chromium and the served app of
``test_browser`` (skipped like it without Chromium).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pyworkflow
from pyworkflow.flow.status import limits_view
from tests._workers import Worker, wait_for
from tests.web import queue_page_workflows as flows
from tests.web.test_browser import browser, csp_violations, site, texts  # noqa: F401

By = __import__("selenium.webdriver.common.by", fromlist=["By"]).By

#: a limit key and a rate limit key a run chose, which the page must show as text
TENANT = f"<img src=x onerror=window.__xss=1>-{uuid.uuid4().hex[:4]}"
BUCKET = f"<script>window.__xss=2</script>-{uuid.uuid4().hex[:4]}"
#: how flow control names them (``<argument>=<value>``)
TENANT_KEY, BUCKET_KEY = f"tenant={TENANT}", f"bucket={BUCKET}"
#: runs queued behind the busy one
BACKLOG = 3


@pytest.fixture(scope="module")
def queue_workers(rt: Any, log_dir: Path) -> Iterator[tuple[Worker, Worker]]:
    limited = Worker(flows.__name__, log_dir, "qpage-limited", queues=flows.QUEUE)
    backlog = Worker(flows.__name__, log_dir, "qpage-backlog", concurrency=1,
                     queues=flows.BACKLOG_QUEUE)
    limited.start(wait=False)
    backlog.start(wait=False)
    try:
        limited.wait_ready()
        backlog.wait_ready()
        yield limited, backlog
    finally:
        backlog.kill()  # its one process is in a long step: a warm stop would wait it out
        limited.stop()


def _limits(rt: Any) -> dict[str, Any]:
    return limits_view(rt.redis, rt.settings.key_prefix)


def _slot_of(rt: Any, key: str) -> dict[str, Any] | None:
    return next((s for s in _limits(rt)["slots"] if s["key"] == key), None)


def _rate_of(rt: Any, key: str) -> dict[str, Any] | None:
    return next((r for r in _limits(rt)["rate_limits"] if r["key"] == key), None)


def _row(browser: Any, table: str, key: str) -> list[str] | None:  # noqa: F811
    """The cells of ``table``'s row whose key cell reads ``key`` (None: not drawn yet)."""
    for row in browser.find_elements(By.CSS_SELECTOR, f"#{table} tbody tr"):
        cells = [c.text for c in row.find_elements(By.CSS_SELECTOR, "td")]
        if len(cells) > 1 and cells[1] == key:
            return cells
    return None


def _queue_row(browser: Any, queue: str) -> list[str]:  # noqa: F811
    return texts(browser, f'#queues tr[data-queue="{queue}"] td')


def test_queues_page_shows_backlog_slots_and_rate_limits_with_keys_as_text(
        rt: Any, browser: Any, site: str,  # noqa: F811
        queue_workers: tuple[Worker, Worker]) -> None:
    _, backlog_worker = queue_workers
    holders = [pyworkflow.start(flows.held, TENANT) for _ in range(2)]
    wait_for(lambda: (s := _slot_of(rt, TENANT_KEY)) and s["held"] == 2, 30,
             message="two runs holding the tenant's slots")
    waiter = pyworkflow.start(flows.held, TENANT)
    wait_for(lambda: (s := _slot_of(rt, TENANT_KEY)) and s["waiting"] == 1, 30,
             message="a third run waiting for a slot")
    rated = pyworkflow.start(flows.rated_pair, BUCKET)
    wait_for(lambda: (r := _rate_of(rt, BUCKET_KEY)) and r["reserved"] == 1, 30,
             message="the rate limit deferring the second start")
    busy = pyworkflow.start(flows.busy_run, 300.0)
    wait_for(lambda: pyworkflow.get_workflow_run(busy).status == "running", 30,
             message="the busy run to take the backlog worker's process")
    queued = [pyworkflow.start(flows.busy_run, 0.0) for _ in range(BACKLOG)]

    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(f"{site}/queues")
    # The backlog: the turns queued behind the busy run (the worker may have reserved
    # one: prefetch of one), and the worker that reads the queue.
    row = wait_for(lambda: (r := _queue_row(browser, flows.BACKLOG_QUEUE))
                   and int(r[1]) >= BACKLOG - 1 and r, 30,
                   message="the backlog queue's row with its turns waiting")
    assert row[0] == flows.BACKLOG_QUEUE
    assert backlog_worker.hostname.split("@")[0] in row[4], row
    assert "qpage_busy_run" in row[4]

    # Slots held per key: held, max, waiting; the key is the run's text, not markup.
    slots = wait_for(lambda: _row(browser, "slots-table", TENANT_KEY), 15,
                     message="the tenant's row in the slots table")
    assert slots == ["workflow:qpage_held", TENANT_KEY, "2", "2", "1"], slots
    # The rate limit: its next free start is about an hour away, one start reserved.
    rates = wait_for(lambda: _row(browser, "rates-table", BUCKET_KEY), 15,
                     message="the bucket's row in the rate limits table")
    assert rates[1] == BUCKET_KEY and rates[2].startswith("in ") and rates[3] == "1", rates

    assert not browser.find_elements(By.CSS_SELECTOR, "main img, main script")
    assert browser.execute_script("return window.__xss") is None
    assert csp_violations(browser) == []

    for run_id in (*holders, waiter, rated, busy, *queued):
        pyworkflow.cancel_workflow(run_id)
