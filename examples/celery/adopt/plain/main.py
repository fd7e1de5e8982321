"""Start the chord the plain Celery way and wait for its result.

    celery -A examples.celery.adopt.plain.celery_app worker -B -l INFO \
        -s /tmp/celerybeat-schedule                                       # terminal 1
    python -m examples.celery.adopt.plain.main                            # terminal 2
"""

from __future__ import annotations

from celery import chord

from .tasks import PRICES, fetch_price, total


def main() -> None:
    result = chord(fetch_price.s(sku) for sku in PRICES)(total.s())
    print(f"basket total: {result.get(timeout=60)} (task id {result.id})")


if __name__ == "__main__":
    main()
