"""``--arg``/``--args-json`` parsing and binding, and ``workflows run`` around it.

No worker is needed: the binding is a pure function, and the command tests replace
``client.start``/``get_workflow_run``/``get_workflow_events`` with fakes, so what
is checked is exactly what the CLI prints and returns.
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest
from click.testing import CliRunner, Result

import pyworkflow
from pyworkflow import client, events
from pyworkflow.cli import run_control as _run_control  # noqa: F401  (registers cancel, retry)
from pyworkflow.cli import runs as _runs  # noqa: F401  (registers the commands)
from pyworkflow.cli import workflows as _workflows  # noqa: F401
from pyworkflow.cli._arguments import (
    ArgumentError,
    bind_arguments,
    format_signature,
    parse_arg,
    parse_value,
)
from pyworkflow.cli._root import cli
from pyworkflow.serialization import SerializationError


def order(order_id: str, amount: float) -> None: ...


def untyped(a, b=2, *rest, c, **extra):
    ...


def positional_only(x: int, /, y: int = 0) -> None: ...


def bind(fn: Any, *items: str, args_json: str | None = None) -> tuple[list[Any], dict[str, Any]]:
    return bind_arguments(fn.__name__, inspect.signature(fn), items, args_json)


def error(fn: Any, *items: str, args_json: str | None = None) -> str:
    with pytest.raises(ArgumentError) as info:
        bind(fn, *items, args_json=args_json)
    return str(info.value)


# -- values ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("99.99", 99.99), ("5", 5), ("true", True), ("null", None), ('["a", 1]', ["a", 1]),
    ('{"k": [1]}', {"k": [1]}), ("order-123", "order-123"), ("", ""), ("01234", "01234"),
    ('"5"', "5"), ("NaN", "NaN"), ("Infinity", "Infinity"), ("1e999", "1e999"),
    ("hello world", "hello world"),
])
def test_values_are_json_when_they_parse_else_text(text: str, value: Any) -> None:
    assert parse_value(text) == value
    assert type(parse_value(text)) is type(value)


def test_str_parameters_keep_the_raw_text() -> None:
    param = inspect.signature(order).parameters["order_id"]
    assert parse_value("123", param) == "123"
    assert parse_value("null", param) == "null"
    # a string annotation (``from __future__ import annotations``) counts too
    assert parse_value("7", param.replace(annotation="str")) == "7"


def test_parse_arg_splits_at_the_first_equals_sign() -> None:
    assert parse_arg("query=a=b") == ("query", "a=b")
    assert parse_arg(" key =v") == ("key", "v")
    assert parse_arg("empty=") == ("empty", "")
    for bad in ("amount", "=5", ""):
        with pytest.raises(ArgumentError):
            parse_arg(bad)


# -- binding --------------------------------------------------------------------------------

def test_seed_readme_arguments_bind_with_the_right_types() -> None:
    args, kwargs = bind(order, "order_id=order-123", "amount=99.99")
    assert args == [] and kwargs == {"order_id": "order-123", "amount": 99.99}
    _, kwargs = bind(order, "order_id=123", "amount=100")
    assert kwargs == {"order_id": "123", "amount": 100}


def test_unknown_parameter_suggests_the_closest_name() -> None:
    assert error(order, "order_id=o", "amout=1") == (
        "unknown parameter 'amout' for order(order_id: str, amount: float); "
        "did you mean 'amount'?")
    assert "did you mean" not in error(order, "order_id=o", "amount=1", "zzz=1")


def test_missing_parameters_are_named_with_how_to_pass_them() -> None:
    assert error(order, "order_id=o") == (
        "missing parameter 'amount' for order(order_id: str, amount: float): "
        "pass --arg amount=VALUE")
    assert "parameters 'order_id', 'amount'" in error(order)


def test_malformed_arg_shows_the_expected_form_and_signature() -> None:
    message = error(order, "order_id")
    assert message.startswith("malformed --arg 'order_id': expected KEY=VALUE")
    assert "--arg order_id=VALUE" in message
    assert "order(order_id: str, amount: float)" in message


def test_the_same_arg_twice_is_an_error() -> None:
    assert "given twice" in error(order, "order_id=a", "order_id=b", "amount=1")


def test_args_json_object_and_list() -> None:
    assert bind(order, args_json='{"order_id": "o", "amount": 1.5}') == (
        [], {"order_id": "o", "amount": 1.5})
    assert bind(order, args_json='["o", 2]') == (["o", 2], {})
    # --arg overrides a key of the object
    assert bind(order, "amount=3", args_json='{"order_id": "o", "amount": 1}')[1]["amount"] == 3


def test_args_json_errors() -> None:
    assert "not valid JSON" in error(order, args_json="{bad")
    assert "got int" in error(order, args_json="5")
    assert "too many positional arguments (3)" in error(order, args_json='[1, 2, 3]')
    assert "both in the --args-json list and by name" in error(
        order, "order_id=x", args_json='["o", 1]')


def test_var_keyword_accepts_any_name_and_keyword_only_is_required() -> None:
    args, kwargs = bind(untyped, "a=1", "c=x", "anything=[1]")
    assert kwargs == {"a": 1, "c": "x", "anything": [1]}
    assert "missing parameter 'c'" in error(untyped, "a=1")
    assert bind(untyped, "c=1", args_json="[1, 2, 3, 4]") == ([1, 2, 3, 4], {"c": 1})


def test_positional_only_parameters_need_args_json() -> None:
    assert "positional-only" in error(positional_only, "x=1")
    assert bind(positional_only, "y=2", args_json="[1]") == ([1], {"y": 2})


def test_signature_rendering_drops_quotes_and_return() -> None:
    sig = inspect.signature(order).replace(return_annotation="dict")
    sig = sig.replace(parameters=[p.replace(annotation="str") for p in sig.parameters.values()])
    assert format_signature("w", sig) == "w(order_id: str, amount: str)"
    assert format_signature("w", sig, returns=True) == "w(order_id: str, amount: str) -> dict"
    assert format_signature("u", inspect.signature(untyped)) == "u(a, b=2, *rest, c, **extra)"


# -- the command ----------------------------------------------------------------------------

@pyworkflow.workflow(name="cli_args_order")
async def cli_args_order(order_id: str, amount: float) -> dict:
    """Test workflow: only its signature matters here."""
    return {}


@pyworkflow.workflow(name="cli_args_clash")
async def cli_args_clash(idempotency_key: str) -> None:
    return None


class FakeRuns:
    """Stands in for the client: ``start`` records the call; the run moves through
    ``statuses`` one poll at a time, with one event per poll."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, statuses: list[str],
                 result: Any = None) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.statuses, self.result, self.polls = statuses, result, 0
        monkeypatch.setattr(client, "start", self.start)
        monkeypatch.setattr(client, "get_workflow_run", self.get_run)
        monkeypatch.setattr(client, "get_workflow_events", self.events)

    def start(self, name: str, *args: Any, idempotency_key: str | None = None,
              **kwargs: Any) -> str:
        self.calls.append((name, args, idempotency_key, kwargs))
        return "run-test"

    def get_run(self, run_id: str) -> client.RunInfo:
        status = self.statuses[min(self.polls, len(self.statuses) - 1)]
        self.polls += 1
        return client.RunInfo(run_id, "cli_args_order", status,
                              result=self.result if status == "completed" else None,
                              error={"type": "ValueError", "message": "boom"}
                              if status == "failed" else None)

    def events(self, run_id: str, after_seq: int = 0) -> list[dict[str, Any]]:
        seq = after_seq + 1
        return [{"seq": seq, "type": "step_completed", "timestamp": 0.0,
                 "data": {"step": "s", "attempt": 1, "result": seq}}] if seq <= self.polls else []


def invoke(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_run_starts_with_parsed_arguments_and_prints_next_commands(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRuns(monkeypatch, ["pending"])
    result = invoke("workflows", "run", "cli_args_order", "--arg", "order_id=order-123",
                    "--arg", "amount=99.99", "--idempotency-key", "k1")
    assert result.exit_code == 0, result.output
    assert fake.calls == [("cli_args_order", (), "k1",
                           {"order_id": "order-123", "amount": 99.99})]
    assert "run-test" in result.stdout
    assert "pyworkflow runs status run-test" in result.stdout
    assert "pyworkflow runs logs run-test" in result.stdout


def test_run_json_prints_one_document(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeRuns(monkeypatch, ["pending"])
    result = invoke("-o", "json", "workflows", "run", "cli_args_order", "-a", "order_id=o",
                    "-a", "amount=1")
    assert json.loads(result.stdout) == {"run_id": "run-test", "workflow": "cli_args_order",
                                         "status": "pending", "created": True}


def test_argument_errors_are_one_line_and_start_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRuns(monkeypatch, ["pending"])
    result = invoke("workflows", "run", "cli_args_order", "--arg", "order_id=o",
                    "--arg", "amout=1")
    assert result.exit_code == 1 and fake.calls == []
    assert result.stderr.strip() == (
        "Error: unknown parameter 'amout' for cli_args_order(order_id: str, amount: float); "
        "did you mean 'amount'?")
    result = invoke("workflows", "run", "nope_not_registered")
    assert result.exit_code == 1 and "no workflow named 'nope_not_registered'" in result.stderr


def test_sdk_refusals_become_one_line_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: Any, **__: Any) -> str:
        raise SerializationError("value at amount is not JSON-serialisable")

    monkeypatch.setattr(client, "start", refuse)
    result = invoke("workflows", "run", "cli_args_order", "-a", "order_id=o", "-a", "amount=1")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: cannot store the arguments of cli_args_order")


def test_parameter_named_like_starts_option_travels_positionally(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeRuns(monkeypatch, ["pending"])
    assert invoke("workflows", "run", "cli_args_clash", "-a", "idempotency_key=x").exit_code == 0
    assert fake.calls == [("cli_args_clash", ("x",), None, {})]


@pytest.mark.parametrize("final, code", [("completed", 0), ("failed", 1), ("cancelled", 1),
                                         ("parked", 1)])
def test_wait_follows_events_and_exit_code_tells_the_outcome(
        monkeypatch: pytest.MonkeyPatch, final: str, code: int) -> None:
    FakeRuns(monkeypatch, ["running", "running", final], result={"ok": True})
    result = invoke("workflows", "run", "cli_args_order", "-a", "order_id=o", "-a", "amount=1",
                    "--wait")
    assert result.exit_code == code, result.output
    lines = [line for line in result.stdout.splitlines() if "step_completed" in line]
    assert [line.split()[0] for line in lines] == ["1", "2", "3"]  # each event once, in order
    assert f"Status: {final}" in result.stdout
    if final == "completed":
        assert 'Result: {"ok": true}' in result.stdout


def test_wait_json_prints_only_the_final_run(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeRuns(monkeypatch, ["running", "failed"])
    result = invoke("-o", "json", "workflows", "run", "cli_args_order", "-a", "order_id=o",
                    "-a", "amount=1", "--wait")
    assert result.exit_code == 1
    run = json.loads(result.stdout)
    assert run["status"] == "failed" and run["error"]["message"] == "boom"


def test_wait_timeout_exits_1_and_says_how_to_keep_following(
        monkeypatch: pytest.MonkeyPatch) -> None:
    FakeRuns(monkeypatch, ["running"])
    result = invoke("workflows", "run", "cli_args_order", "-a", "order_id=o", "-a", "amount=1",
                    "--wait", "--timeout", "0.3")
    assert result.exit_code == 1
    assert "still running" in result.stdout and "runs logs run-test -f" in result.stdout


# -- input limits and encodings (one checked reader with the HTTP endpoint and the worker) --

def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


@pytest.mark.parametrize("levels", [600, 100_000])
def test_deeply_nested_args_json_is_a_clear_error(levels: int) -> None:
    message = error(untyped, args_json=f'{{"a": {_deep(levels)}, "c": 1}}')
    assert "nested more than 100 levels" in message and "untyped(" in message
    message = error(untyped, "c=1", f"a={_deep(levels)}")
    assert message.startswith("--arg a: ") and "nested more than 100 levels" in message


def test_undecodable_bytes_in_an_arg_are_a_clear_error() -> None:
    value = b"caf\xe9".decode("utf-8", "surrogateescape")  # what argv holds for latin-1 bytes
    message = error(order, "order_id=" + value, "amount=1")
    assert "is not valid UTF-8 (byte 0xe9" in message and "caf\ufffd" in message


def _cli_bytes(*args: bytes, env: dict[str, str] | None = None) -> Any:
    """The real console script, so argv carries the raw bytes a shell would pass."""
    import os
    import subprocess

    from tests._workers import PYWORKFLOW, REPO

    return subprocess.run([PYWORKFLOW.encode(), *args], cwd=REPO, capture_output=True,
                          timeout=60, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("argv", [
    [b"runs", b"status", b"run-\xff\xfe"],
    [b"-o", b"json", b"runs", b"status", b"run-\xff"],
    [b"hooks", b"info", b"tok\xe9n"],
    [b"-m", b"tests.hook_workflows", b"workflows", b"run", b"hooktest_echo", b"--arg",
     b"timeout=\xff"],
])
def test_non_utf8_on_the_command_line_is_one_clear_line(rt: Any, argv: list[bytes]) -> None:
    done = _cli_bytes(*argv)
    lines = done.stderr.decode("utf-8").splitlines()  # valid UTF-8 itself
    assert done.returncode == 1 and done.stdout == b""
    assert len(lines) == 1 and "is not valid UTF-8 (byte 0x" in lines[0], lines
    assert "Traceback" not in lines[0] and "UnicodeEncodeError" not in lines[0]


def test_output_json_is_utf8_whatever_the_locale(rt: Any) -> None:
    from pyworkflow.client import hooks

    token = hooks.new_token()
    hooks.record_hook(token, "run-café", 1, "approbation-é", None)
    done = _cli_bytes(b"-o", b"json", b"hooks", b"info", token.encode(),
                      env={"PYTHONIOENCODING": "latin-1"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.decode("utf-8"))["name"] == "approbation-é"


def test_logs_type_accepts_every_event_the_engine_emits(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeRuns(monkeypatch, ["completed"])
    everything = [arg for name in events.ALL for arg in ("-t", name)]
    result = invoke("runs", "logs", "run-test", *everything)
    assert result.exit_code == 0 and "note:" not in result.stderr, result.stderr
    assert events.STEP_REDISPATCHED in _runs.EVENT_TYPES
    typo = invoke("runs", "logs", "run-test", "-t", "step_complete")
    assert typo.exit_code == 0 and "step_complete not among the known event types" in typo.stderr
