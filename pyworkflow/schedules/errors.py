"""Errors of schedules: a spec refused at the door, a schedule that does not exist, a
schedule parked in error."""

from __future__ import annotations

from ..errors import PyWorkflowError


class InvalidScheduleError(PyWorkflowError, ValueError):
    """A schedule's spec was refused before anything was written: a bad cron
    expression, an unknown timezone, an unknown overlap policy, both or neither of
    cron and interval, an end before the start. The message names the field."""


class ScheduleNotFoundError(PyWorkflowError, LookupError):
    """No schedule has this id (or it was deleted)."""

    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"no schedule {schedule_id!r}; list them with: pyworkflow schedules list")
        self.schedule_id = schedule_id


class ScheduleExistsError(PyWorkflowError):
    """``create_schedule`` with the id of a schedule that exists: update it instead."""

    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"schedule {schedule_id!r} exists already; change it with "
                         "update_schedule, or delete it first")
        self.schedule_id = schedule_id


class ScheduleParkedError(InvalidScheduleError):
    """The schedule is parked in status ``error`` (its turns died too often, see
    ``behaviour``): it takes no change but ``resume`` or ``delete``. A refusal like an
    invalid spec's (callers that handle those handle this one)."""

    def __init__(self, schedule_id: str, why: str | None) -> None:
        super().__init__(f"schedule {schedule_id!r} is parked in error ({why or 'no reason'}); "
                         "resume it once the cause is fixed, or delete it")
        self.schedule_id = schedule_id
