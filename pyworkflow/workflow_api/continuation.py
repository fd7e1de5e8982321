"""``await continue_as_new(*args, **kwargs)``: a long-lived workflow starts over.

A run whose journal would grow without end (a loop that polls, an entity that lives
for months) ends itself and goes on in a new run of the same workflow with a fresh
journal and the arguments given here (see ``engine/commands/continue_as_new.py``).
``runs status`` links the two (``continued_from`` / ``continued_to``), ``runs chain``
lists the whole chain, and ``get_result(run_id, follow=True)`` follows it to its end.
"""

from __future__ import annotations

from typing import Any, NoReturn

from .._start_plan import encode_arguments, workflow_def
from ..engine import in_workflow
from ..engine.commands import CONTINUE_AS_NEW


async def continue_as_new(*args: Any, **kwargs: Any) -> NoReturn:
    """End this run; a new run of the same workflow goes on with these arguments
    (checked against the workflow's signature here, at the call)."""
    run = in_workflow()
    if run is None or run.history.started is None:
        raise RuntimeError("continue_as_new() can only be awaited inside a workflow")
    defn = workflow_def(run.history.started["workflow"])
    enc_args, enc_kwargs = encode_arguments(defn, args, kwargs,
                                            f"cannot continue {defn.name} as new: ")
    await CONTINUE_AS_NEW.schedule(run, enc_args, enc_kwargs)
    raise AssertionError("unreachable: a run that continued as new never resumes")
