"""Changing workflow code without breaking the runs in flight: ``patched()``.

How a team ships a change to a workflow that has runs in flight::

    if patched("fraud-check-v2"):          # 1. ship both branches
        await fraud_check_v2(payment)
    else:
        await fraud_check(payment)

1. Wrap the change in ``if patched("<change id>")``, keeping the old code in the
   ``else``. Runs that started before the deploy replay the old branch; new runs
   (and old runs that had not yet reached this point) take the new one.
   ``pyworkflow runs check`` before the deploy shows any run the change would break.
2. Once no run from before the change is left (``pyworkflow runs list --status
   running`` and friends), replace the ``if`` with ``deprecate_patch("<change id>")``
   and drop the old branch.
3. Once no run that recorded the marker is left, remove the ``deprecate_patch`` line.
"""

from __future__ import annotations

from ..engine import in_workflow
from ..engine.commands import PATCH


def patched(change_id: str) -> bool:
    """True where the run takes the new code: it reached this point with it (a marker
    is recorded); False where its journal went past this point without the marker
    (it started before the change), so its replay stays the same. The same answer for
    every call with this id in one run. Outside a workflow: True."""
    run = in_workflow()
    if run is None:
        return True
    return PATCH.patched(run, change_id)


def deprecate_patch(change_id: str) -> None:
    """The change is everywhere: keep only the new code, and let runs that recorded the
    marker still replay."""
    run = in_workflow()
    if run is not None:
        PATCH.deprecated(run, change_id)
