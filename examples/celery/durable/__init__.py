"""Durable workflow examples. Importing this package registers every example, so
``pyworkflow --module examples.celery.durable worker run`` serves them all."""

import importlib
import pkgutil

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name[:2].isdigit():
        importlib.import_module(f"{__name__}.{_info.name}")
