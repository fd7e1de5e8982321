"""``pyworkflow web``: its errors are one clear line, the token can come from a file,
and the process it serves checks the Host and the token."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pyworkflow.cli import cli
from tests._workers import PYWORKFLOW, REPO


def web(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(cli, ["web", *args], env=env, catch_exceptions=False)


def one_line_error(result: Result) -> str:
    assert result.exit_code == 1, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def test_a_host_that_is_not_one_is_a_clear_error(rt: Any) -> None:
    line = one_line_error(web("--host", "not a host", "--auth-token", "a-long-token"))
    assert "'not a host' is not an address or a host name" in line
    unresolvable = one_line_error(web("--host", "no-such-host.invalid", "--port", "0",
                                      "--auth-token", "a-long-token"))
    assert "cannot listen on no-such-host.invalid:0" in unresolvable
    assert "Unknown error" not in unresolvable and "resolves" in unresolvable


def test_a_blank_token_is_refused_from_each_source(rt: Any, tmp_path: Path) -> None:
    assert "empty" in one_line_error(web("--auth-token", ""))
    assert "empty" in one_line_error(web("--auth-token", "  "))
    assert "PYWORKFLOW_WEB_AUTH_TOKEN is empty" in one_line_error(
        web(env={"PYWORKFLOW_WEB_AUTH_TOKEN": ""}))
    blank = tmp_path / "token"
    blank.write_text("\n")
    assert "empty" in one_line_error(web("--auth-token-file", str(blank)))
    missing = one_line_error(web("--auth-token-file", str(tmp_path / "nope")))
    assert "cannot read --auth-token-file" in missing
    blank.write_text("tok")
    both = one_line_error(web("--auth-token", "x", "--auth-token-file", str(blank)))
    assert "once" in both


def test_a_bad_allowed_host_is_a_clear_error(rt: Any) -> None:
    line = one_line_error(web("--allowed-host", "http://x/y"))
    assert "not a host name" in line


def _get(url: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_serves_with_the_token_from_a_file_and_the_allowed_hosts(
        rt: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "token"
    secret.write_text("file-token-0123456789\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYWORKFLOW_WEB_")}
    env["PYWORKFLOW_WEB_ALLOWED_HOSTS"] = "from-env.example"
    proc = subprocess.Popen([PYWORKFLOW, "web", "--port", "0", "--auth-token-file",
                             str(secret), "--allowed-host", "dash.example.com"], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert banner.startswith("Dashboard on http://127.0.0.1:"), banner
        assert "dash.example.com" in banner and "from-env.example" in banner
        url = banner.split()[2].rstrip("/")
        bearer = {"Authorization": "Bearer file-token-0123456789"}
        assert _get(f"{url}/api/counts", {}) == 401
        assert _get(f"{url}/api/counts", bearer) == 200
        for host in ("dash.example.com", "from-env.example:8080"):
            assert _get(f"{url}/api/counts", {**bearer, "Host": host}) == 200, host
        assert _get(f"{url}/api/counts", {**bearer, "Host": "attacker.example"}) == 400
        assert _get(f"{url}/healthz", {"Host": "attacker.example"}) == 200
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "file-token" not in out + err
