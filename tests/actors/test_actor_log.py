"""The runtime's log settings are its own (``ACTORS_*``); pyworkflow hands its own on."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest

from actors import log as actors_log
from pyworkflow.config import log_format


def _line_is_json(stream: io.StringIO) -> bool:
    actors_log.get_logger("t").warning("hello")
    try:
        json.loads(stream.getvalue().splitlines()[-1])
    except ValueError:
        return False
    return True


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def terminal() -> Iterator[io.StringIO]:
    stream = _Terminal()
    yield stream
    actors_log.configure(force=True)


def test_the_runtime_reads_its_own_format_setting(
        terminal: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTORS_LOG_FORMAT", "json")
    actors_log.configure(force=True, stream=terminal)
    assert _line_is_json(terminal)


def test_the_runtime_does_not_read_the_products_setting(
        terminal: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACTORS_LOG_FORMAT", raising=False)
    monkeypatch.setenv("PYWORKFLOW_LOG_FORMAT", "json")
    actors_log.configure(force=True, stream=terminal)
    assert not _line_is_json(terminal)


def test_pyworkflow_hands_its_format_to_the_runtime(
        terminal: io.StringIO, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACTORS_LOG_FORMAT", "console")
    monkeypatch.setenv("PYWORKFLOW_LOG_FORMAT", "json")  # the product's name wins
    actors_log.configure(fmt=log_format(), force=True, stream=terminal)
    assert _line_is_json(terminal)


def test_pyworkflow_leaves_the_runtimes_setting_when_its_own_is_unset(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYWORKFLOW_LOG_FORMAT", raising=False)
    assert log_format() is None
    assert log_format({"PYWORKFLOW_LOG_FORMAT": "json"}) == "json"
