"""The same chord, as a durable run, and a workflow that awaits the tasks as steps.

    pyworkflow --module examples.celery.adopt.durable.flows worker run \\
        --import-beat examples.celery.adopt.plain.celery_app:app       # terminal 1
    python -m examples.celery.adopt.durable.main                       # terminal 2
"""

from __future__ import annotations

from celery import chord

import pyworkflow
from pyworkflow import canvas

from ..plain.tasks import PRICES, fetch_price, total
from .flows import reprice


def main() -> None:
    # chord(header, body): the signature. chord(header)(body) would send it to Celery.
    result = canvas.start(chord([fetch_price.s(sku) for sku in PRICES], total.s()))
    print(f"basket total: {result.get(timeout=60)} (run {result.id}: "
          f"pyworkflow runs status {result.id})")
    run_id = pyworkflow.start(reprice, ["apple", "fig"])
    print(f"repriced: {pyworkflow.get_result(run_id, timeout=60)} (run {run_id})")


if __name__ == "__main__":
    main()
