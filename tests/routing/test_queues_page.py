"""The dashboard's queues page: the queues, the workers reading them and what they
advertise, and work waiting for a worker (the same reads as ``pyworkflow queues``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from pyworkflow.web import create_app
from tests import routing_workflows_pools as pools
from tests._workers import Worker, wait_for
from tests.web.conftest import LOCAL


def test_the_queues_page_shows_each_queue_its_workers_and_their_workflows(
        rt: Any, log_dir: Path) -> None:
    client = TestClient(create_app(), base_url=LOCAL)
    page = client.get("/queues")
    assert page.status_code == 200 and 'data-page="queues"' in page.text
    assert 'id="nav-queues"' in page.text
    worker = Worker(pools.__name__, log_dir, "qpage", queues="default,billing").start()
    try:
        def billing() -> Any:
            views = {q["queue"]: q for q in client.get("/api/queues").json()["queues"]}
            return views.get("billing")

        view = wait_for(lambda: (b := billing()) and b["workers"] and b, 30,
                        message="the worker's advert")
        assert view["workers"][0]["queues"] == ["default", "billing"]
        assert "routing_billing" in view["workers"][0]["workflows"]
        assert view["steps_waiting"] >= 0 and "waiting_for_worker" in client.get(
            "/api/queues").json()
    finally:
        worker.stop()
