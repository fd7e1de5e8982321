"""Issue 24 at the CLI's doors: an over-long or unprintable idempotency key, run id or
hook token is one error line (never a traceback), with nothing written and, for ids,
the same answer as for an unknown one (docs/operations/limits.md).

In-process (``CliRunner``) against the session's Redis; no worker is needed.
"""

from __future__ import annotations

from typing import Any

from click.testing import CliRunner, Result

from pyworkflow import keys
from pyworkflow.cli import workflows as _workflows  # noqa: F401  (registers the commands)
from pyworkflow.cli._root import cli
from pyworkflow.limits import MAX_IDEMPOTENCY_KEY_CHARS

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
