"""Local example 04: durable sleeps that wake up by themselves.

In the local runtime a ``sleep`` is a timer on the wall clock: the run waits for
it and goes on, with no ``resume`` to call. (Use ``pyworkflow.testing.
WorkflowEnvironment`` in tests to skip waits instead.)

    python examples/local/durable/04_long_running.py
"""

from __future__ import annotations

import time

from pyworkflow import sleep, step, workflow
from pyworkflow.local.runtime import run_local


@step()
async def send_email(user_id: str, template: str) -> str:
    return f"{template} email sent to {user_id}"


@workflow()
async def onboarding_workflow(user_id: str, wait: str = "1s") -> list[str]:
    sent = [await send_email(user_id, "welcome")]
    await sleep(wait)  # on workers this would be "1d"
    sent.append(await send_email(user_id, "tips"))
    await sleep(wait)
    sent.append(await send_email(user_id, "feedback"))
    return sent


if __name__ == "__main__":
    began = time.monotonic()
    result = run_local(onboarding_workflow, "user-456", "0.5s")
    print(result)
    print(f"took {time.monotonic() - began:.1f}s (two sleeps of 0.5s)")
