"""Example 02: onboarding with scheduled emails — durable sleep.

The run sleeps between emails. While it sleeps it holds no worker: the wake-up is
a timer in Redis, and any worker resumes the run when it is due, even after every
worker was restarted.

    pyworkflow --module examples.celery.durable.02_long_running worker run
    pyworkflow --module examples.celery.durable.02_long_running workflows run \\
        onboarding_workflow --arg user_id=user-456

``delay`` (default "30s") is a parameter so tests can pass a shorter one.
"""

from __future__ import annotations

from pyworkflow import sleep, step, workflow


@step()
async def send_welcome_email(user_id: str) -> dict:
    return {"user_id": user_id, "email": "welcome", "sent": True}


@step()
async def send_tips_email(user_id: str) -> dict:
    return {"user_id": user_id, "email": "tips", "sent": True}


@step()
async def send_survey_email(user_id: str) -> dict:
    return {"user_id": user_id, "email": "survey", "sent": True}


@workflow()
async def onboarding_workflow(user_id: str, delay: str = "30s") -> dict:
    """Welcome email, sleep, tips email, sleep, survey email."""
    sent = [await send_welcome_email(user_id)]
    await sleep(delay)
    sent.append(await send_tips_email(user_id))
    await sleep(delay)
    sent.append(await send_survey_email(user_id))
    return {"user_id": user_id, "emails": [e["email"] for e in sent]}
