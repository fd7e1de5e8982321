"""``runs list|status|logs --local``: the ``--runtime local`` runs saved in Redis.

A local run is not a worker run: it has no record among the runs ``runs list`` reads,
only its saved state (:mod:`pyworkflow.local.saved_runs`). These helpers fetch it, read
only (no owner mark, nothing saved), and hand back the same ``RunInfo`` and event dicts
a worker run gives, so ``runs`` prints both with one set of formatting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .. import limits
from ..run_info import RunInfo
from ..worker import _runtime
from ._root import CliError

if TYPE_CHECKING:
    from ..local.journal import LocalJournal

__all__ = ["local_list", "local_run"]

# The local runtime (and the engine under it) is imported by the functions that read
# a local run: ``runs list`` and ``runs status`` of worker runs load neither.


def _journal() -> LocalJournal:
    from ..local.journal import LocalRunError
    from ..local.saved_runs import open_saved_runs

    try:
        return open_saved_runs(_runtime.config_file())
    except LocalRunError as exc:
        raise CliError(str(exc)) from None


def local_list(limit: int) -> list[RunInfo]:
    """Up to ``limit`` saved local runs, newest save first."""
    from ..local.saved_runs import list_saved

    return list_saved(_journal(), limit)


def local_run(run_id: str) -> tuple[RunInfo, list[dict[str, Any]]]:
    """One saved local run and its journal; one line (``CliError``) when there is none."""
    from ..local.journal import LocalRunError
    from ..local.saved_runs import load_saved

    if not limits.is_id_form(run_id):  # refused before Redis, as the client refuses it
        raise CliError(f"{limits.shown(run_id)} is not a run id. List local runs with: "
                       "pyworkflow runs list --local")
    try:
        return load_saved(_journal(), run_id)
    except LocalRunError as exc:
        raise CliError(f"{exc}. List local runs with: pyworkflow runs list --local") from None
