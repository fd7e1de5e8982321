"""The ``pyworkflow`` command line: ``pyworkflow [--module M] [--config F] COMMAND``.

Every error is one clear line on stderr and a non-zero exit code; ``--debug``
shows the traceback instead.
"""

from __future__ import annotations

from ._root import main

__all__ = ["main"]
