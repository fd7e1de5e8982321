"""One module for workers that serve both the toy actors and the examples."""

import examples.celery.durable  # noqa: F401
import tests.toy_actors  # noqa: F401
