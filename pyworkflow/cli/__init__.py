"""The ``pyworkflow`` command line: ``pyworkflow [--module M] [--config F] COMMAND``.

Every error is one clear line on stderr and a non-zero exit code; ``--debug``
shows the traceback instead. The root group lives in ``_root``; it imports a
command's module when the command is named (the table is ``_commands``), so a command
loads only what it needs.
"""

from __future__ import annotations

import os
import sys

from ._root import cli

__all__ = ["main"]


def main() -> None:
    try:
        cli(prog_name="pyworkflow")
    except BrokenPipeError:
        _quiet_closed_stdout()
        sys.exit(141)  # what a shell reports for a command ended by SIGPIPE


def _quiet_closed_stdout() -> None:
    """The reader of our output went away (``pyworkflow runs list | head -2``): that is
    not an error to report. Point stdout at /dev/null so the interpreter's final flush
    does not raise a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
