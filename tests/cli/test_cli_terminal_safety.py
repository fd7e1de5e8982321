"""Run data never drives the operator's terminal: control characters in what a run
carries (a signal's name, an error message, a result) are shown, not obeyed."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from pyworkflow.cli import _output as out
from pyworkflow.cli._history import format_event

HOSTILE = "ok\x1b]0;owned\x07\x1b[2J\x9b31m\rdone"


def _printed(fn: object, output: str = "table") -> str:
    @click.command()
    @click.pass_context
    def show(ctx: click.Context) -> None:
        ctx.obj = {"output": output}
        fn()  # type: ignore[operator]

    result = CliRunner().invoke(show, [])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("render", [
    lambda: out.print_table(["run", "error"], [["r1", HOSTILE]]),
    lambda: out.print_fields([("Error", HOSTILE)]),
    lambda: click.echo(format_event({"seq": 1, "type": "signal_received",
                                         "data": {"name": HOSTILE}})),
    lambda: out.note(HOSTILE),
])
def test_control_characters_in_run_data_are_shown_not_obeyed(render: object) -> None:
    text = _printed(render)
    assert "\x1b" not in text and "\x9b" not in text and "\x07" not in text
    assert "\\x1b" in text and "done" in text


def test_json_output_escapes_them_and_stays_json() -> None:
    text = _printed(lambda: out.emit_json({"error": HOSTILE}), output="json")
    assert "\x1b" not in text and "\x9b" not in text
    assert json.loads(text) == {"error": HOSTILE}
