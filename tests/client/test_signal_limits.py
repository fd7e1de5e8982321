"""``pyworkflow.limits``: the bounds on signal names and ids (issue 24), as a client and
the engine check them. The engine's refusal of a message that breaks them is in
tests/engine/test_signal_bounds.py."""

from __future__ import annotations

from typing import Any

import pytest

from pyworkflow.limits import (
    MAX_SIGNAL_ID_CHARS,
    MAX_SIGNAL_NAME_CHARS,
    check_signal_id,
    check_signal_name,
)


@pytest.mark.parametrize("check", [check_signal_name, check_signal_id])
def test_usable_values_pass_through(check: Any) -> None:
    assert check("paid") == "paid"
    assert check("order.paid/ü 1") == "order.paid/ü 1"  # spaces and non-ASCII print fine
    assert check("x" * 200) == "x" * 200


@pytest.mark.parametrize(("check", "what"), [(check_signal_name, "signal name"),
                                             (check_signal_id, "signal id")])
@pytest.mark.parametrize("bad", ["", None, 3, b"paid", ["paid"]])
def test_a_missing_or_wrong_type_is_a_type_error(check: Any, what: str, bad: Any) -> None:
    with pytest.raises(TypeError, match=f"a {what} is a non-empty string"):
        check(bad)


@pytest.mark.parametrize(("check", "limit"), [(check_signal_name, MAX_SIGNAL_NAME_CHARS),
                                              (check_signal_id, MAX_SIGNAL_ID_CHARS)])
def test_too_long_is_a_value_error_that_does_not_echo_the_value(check: Any,
                                                                limit: int) -> None:
    huge = "n" * (64 * 1024 * 1024)  # the 64 MB name of the issue
    with pytest.raises(ValueError, match=f"at most {limit} characters") as caught:
        check(huge)
    assert len(str(caught.value)) < 300
    with pytest.raises(ValueError):
        check("n" * (limit + 1))


@pytest.mark.parametrize("bad", ["two\nlines", "tab\there", "esc\x1b[2J", "nul\x00",
                                 "bidi\u202eevil"])
def test_unprintable_characters_are_a_value_error(bad: str) -> None:
    with pytest.raises(ValueError, match="printable"):
        check_signal_name(bad)
    with pytest.raises(ValueError, match="printable"):
        check_signal_id(bad)


def test_the_client_refuses_at_the_door_what_the_worker_would_refuse() -> None:
    """``send_signal``'s message is checked with the same limits before anything is sent."""
    from pyworkflow.client.run_queries import signal_message

    with pytest.raises(ValueError):
        signal_message("x" * 201, None, None)
    with pytest.raises(ValueError):
        signal_message("ok", None, "id\x1b[2J")
    with pytest.raises(TypeError):
        signal_message("", None, None)
    assert signal_message("paid", {"n": 1}, "sig-1")[0] == "sig-1"
