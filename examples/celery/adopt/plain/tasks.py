"""The project's tasks: unchanged when the project becomes durable."""

from __future__ import annotations

import logging
from typing import Any

from .celery_app import app

log = logging.getLogger(__name__)

PRICES = {"apple": 0.5, "pear": 0.75, "plum": 1.25, "fig": 2.0, "kiwi": 0.9}


@app.task(name="shop.fetch_price", bind=True, autoretry_for=(ConnectionError,),
          retry_backoff=True, retry_jitter=False, max_retries=4)
def fetch_price(self: Any, sku: str) -> float:
    """Ask the (pretend) price service; it drops the first call for some items."""
    if self.request.retries == 0 and sku in ("pear", "fig"):
        raise ConnectionError(f"price service dropped the call for {sku}")
    return PRICES[sku]


@app.task(name="shop.total")
def total(prices: list[float]) -> float:
    """The chord's body: every price, once all have come back."""
    return round(sum(prices), 2)


@app.task(name="shop.stock_report")
def stock_report(where: str) -> str:
    """What beat runs on a schedule."""
    log.info("stock report for %s", where)
    return f"stock report for {where}: {len(PRICES)} items"
