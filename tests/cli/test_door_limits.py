"""Issue 24 at the CLI's doors: an over-long or unprintable idempotency key, run id or
hook token is one error line (never a traceback), with nothing written and, for ids,
the same answer as for an unknown one (docs/operations/limits.md).

In-process (``CliRunner``) against the session's Redis; no worker is needed.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pyworkflow import keys
from pyworkflow.cli import hooks as _hooks  # noqa: F401  (registers the commands)
from pyworkflow.cli import run_chain as _run_chain  # noqa: F401
from pyworkflow.cli import run_control as _run_control  # noqa: F401
from pyworkflow.cli import run_export as _run_export  # noqa: F401
from pyworkflow.cli import run_messages as _run_messages  # noqa: F401
from pyworkflow.cli import runs as _runs  # noqa: F401
from pyworkflow.cli import workflows as _workflows  # noqa: F401
from pyworkflow.cli._root import cli
from pyworkflow.limits import MAX_ID_CHARS, MAX_IDEMPOTENCY_KEY_CHARS

MODULE = "tests.client_workflows"


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""
    return lines[0]


def test_workflows_run_refuses_a_bad_idempotency_key_in_one_line(rt: Any) -> None:
    index = keys.runs_index(rt.settings.key_prefix)
    before = rt.redis.zcard(index)
    over = "k" * (MAX_IDEMPOTENCY_KEY_CHARS + 1)
    line = one_line_error(invoke("--module", MODULE, "workflows", "run", "client_quick",
                                 "--arg", "x=1", "--idempotency-key", over))
    assert f"at most {MAX_IDEMPOTENCY_KEY_CHARS} characters" in line and len(line) < 300
    line = one_line_error(invoke("--module", MODULE, "workflows", "run", "client_quick",
                                 "--arg", "x=1", "-k", "bell\x07"))
    assert "printable" in line
    assert rt.redis.zcard(index) == before
    assert rt.redis.get(keys.idempotency_key(rt.settings.key_prefix, over)) is None


# -- run ids and hook tokens --------------------------------------------------------------

FORGED = "run-" + "a" * (MAX_ID_CHARS - 3)


def _forge_run(rt: Any, run_id: str) -> None:
    """A real record under an id past the bound (as if forged into Redis): the CLI must
    answer as for an unknown run, not find it."""
    import tests.client_workflows  # noqa: F401
    from pyworkflow._start_plan import plan_start

    plan = plan_start("client_quick", (1,), {})
    rt.redis.hset(rt.actor_keys(run_id).record,
                  mapping={**plan.record, "run_id": run_id, "status": "failed"})


@pytest.mark.parametrize("command", [
    ["runs", "status"], ["runs", "logs"], ["runs", "logs", "--app"], ["runs", "children"],
    ["runs", "values"], ["runs", "export"], ["runs", "chain"], ["runs", "cancel"],
    ["runs", "retry"]])
def test_runs_commands_answer_an_id_past_the_bound_as_an_unknown_run(
        rt: Any, command: list[str]) -> None:
    _forge_run(rt, FORGED)
    line = one_line_error(invoke(*command[:2], FORGED, *command[2:]))
    assert line.startswith("Error: no run 'run-aaa") and "runs list" in line
    assert len(line) < 200
    assert "no run 'run-esc" in one_line_error(invoke(*command[:2], "run-esc\x1b[2J",
                                                      *command[2:]))


def test_runs_signal_answers_an_id_past_the_bound_as_an_unknown_run(rt: Any) -> None:
    _forge_run(rt, FORGED)
    line = one_line_error(invoke("runs", "signal", FORGED, "go"))
    assert line.startswith("Error: no run 'run-aaa") and len(line) < 200


def test_runs_status_local_refuses_an_id_past_the_bound_in_one_line(rt: Any) -> None:
    line = one_line_error(invoke("runs", "status", "--local", "run-" + "l" * 4000))
    assert "is not a run id" in line and len(line) < 200


def test_hooks_commands_answer_a_token_past_the_bound_as_an_unknown_hook(rt: Any) -> None:
    from pyworkflow.client import hooks

    token, run_id = "t" * (MAX_ID_CHARS + 1), "run-" + "h" * MAX_ID_CHARS
    hooks.record_hook(token, run_id, 3, "cli_door_limits", None)
    assert "no hook with token" in one_line_error(invoke("hooks", "info", token))
    assert "no hook with token" in one_line_error(invoke("hooks", "resume", token,
                                                         "--payload", "{}"))
    assert rt.hooks.read(token).status == "pending"
    listed = invoke("--output", "json", "hooks", "list", "--run-id", run_id)
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []


# -- listings -----------------------------------------------------------------------------

def test_hooks_list_limit_is_bounded_like_runs_list(rt: Any) -> None:
    from pyworkflow.client import MAX_LIST_LIMIT

    refused = CliRunner().invoke(cli, ["hooks", "list", "--limit", str(MAX_LIST_LIMIT + 1)])
    assert refused.exit_code == 2 and f"1<=x<={MAX_LIST_LIMIT}" in refused.stderr
    assert invoke("hooks", "list", "--limit", str(MAX_LIST_LIMIT)).exit_code == 0


@pytest.fixture()
def crowded_schedules(rt: Any) -> Any:
    """``MAX_LISTED + 5`` old index entries (without records), removed afterwards."""
    from pyworkflow.schedules import api

    index = keys.schedules_index(rt.settings.key_prefix)
    fake = {f"sched-cli-door-limits-{i}": float(i + 1) for i in range(api.MAX_LISTED + 5)}
    rt.redis.zadd(index, fake)
    try:
        yield
    finally:
        rt.redis.zrem(index, *fake)


def test_schedules_list_says_how_many_schedules_it_did_not_read(
        rt: Any, crowded_schedules: None) -> None:
    from pyworkflow.cli import schedules as _schedules  # noqa: F401  (registers the group)

    indexed = int(rt.redis.zcard(keys.schedules_index(rt.settings.key_prefix)))
    table = invoke("schedules", "list")
    assert table.exit_code == 0, table.stderr
    assert (f"only the oldest 10,000 of {indexed:,} schedules were read: "
            f"{indexed - 10_000:,} more are not listed") in table.stdout
    as_json = invoke("--output", "json", "schedules", "list")
    assert as_json.exit_code == 0 and isinstance(json.loads(as_json.stdout), list)
    assert "more are not listed" in as_json.stderr


@pytest.mark.parametrize("args", [
    ["runs", "cancel", "run-x", "--wait", "--timeout"],
    ["runs", "retry", "run-x", "--wait", "--timeout"],
    ["workflows", "run", "some_workflow", "--wait", "--timeout"],
])
def test_a_wait_past_a_hundred_years_is_refused_in_one_line(args: list[str]) -> None:
    """A wait is bounded like every duration (durations.MAX_DURATION_S): click refuses
    it before anything is asked of Redis, as it does a negative one."""
    result = CliRunner().invoke(cli, [*args, "1e20"])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "1e+20 is not in the range 0<=x<=3155760000" in result.stderr
    assert "Traceback" not in result.stderr
