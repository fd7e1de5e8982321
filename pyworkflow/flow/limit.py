"""``Limit``: at most ``max`` runs (or step attempts) at once, per value of a key.

``Limit(key="customer_id", max=5)`` caps the runs of one customer; ``Limit(max=2)``
caps them all together; ``key`` may also be a function of the arguments
(``key=lambda order: order["region"]``). Checked where it is declared (a key that
names no argument, ``max=0``, an unknown policy fail at import), and its key's
value is checked where it is computed (a string of at most
``limits.MAX_LIMIT_KEY_CHARS`` printable characters).

``policy`` says what happens to the newcomer when every slot is held:
``queue`` (the default) waits, durably, and starts in order of arrival when a slot
frees; ``cancel_newest`` ends the newcomer cancelled at once; ``cancel_oldest``
cancels the oldest holder and the newcomer waits for the slot it frees (Hatchet's
CANCEL_IN_PROGRESS).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..limits import check_limit_key

Policy = Literal["queue", "cancel_newest", "cancel_oldest"]
POLICIES: tuple[Policy, ...] = ("queue", "cancel_newest", "cancel_oldest")
#: The most slots one limit may have (a bound on what one Lua call counts).
MAX_SLOTS = 100_000


@dataclass(frozen=True)
class Limit:
    """A concurrency limit: see the module docstring."""

    max: int
    key: str | Callable[..., Any] | None = None
    policy: Policy = "queue"

    def __post_init__(self) -> None:
        if isinstance(self.max, bool) or not isinstance(self.max, int):
            raise TypeError(f"Limit(max=...) is a whole number of slots, not {self.max!r}")
        if not 1 <= self.max <= MAX_SLOTS:
            raise ValueError(f"Limit(max={self.max}) must be between 1 and {MAX_SLOTS}")
        if self.policy not in POLICIES:
            raise ValueError(f"Limit(policy={self.policy!r}) must be one of "
                             f"{', '.join(POLICIES)}")
        if self.key is not None and not callable(self.key):
            if not isinstance(self.key, str) or not self.key.isidentifier():
                raise TypeError(f"Limit(key=...) is an argument's name or a function of the "
                                f"arguments, not {self.key!r}")

    def check_against(self, fn: Callable[..., Any], what: str) -> None:
        check_key(self.key, fn, what)

    def key_value(self, fn: Callable[..., Any], args: tuple[Any, ...] | list[Any],
                  kwargs: dict[str, Any]) -> str:
        return key_value(self.key, fn, args, kwargs)

    def describe(self) -> str:
        key = "" if self.key is None else (
            f"key={self.key}" if isinstance(self.key, str) else "key=<function>")
        return ", ".join(p for p in (key, f"max={self.max}",
                                     "" if self.policy == "queue" else f"policy={self.policy}")
                         if p)


KeySpec = str | Callable[..., Any] | None


def check_key(key: KeySpec, fn: Callable[..., Any], what: str) -> None:
    """A key naming an argument ``fn`` does not have is a typo: refuse it at import."""
    if key is None:
        return
    if not callable(key) and (not isinstance(key, str) or not key.isidentifier()):
        raise TypeError(f"{what}: key= is an argument's name or a function of the "
                        f"arguments, not {key!r}")
    if isinstance(key, str):
        params = inspect.signature(fn).parameters
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        if key not in params and not takes_any:
            raise ValueError(f"{what}: key={key!r} names no argument of "
                             f"{fn.__name__}{inspect.signature(fn)}")


def key_value(key: KeySpec, fn: Callable[..., Any], args: tuple[Any, ...] | list[Any],
              kwargs: dict[str, Any]) -> str:
    """The group these arguments fall in: ``""`` with no key, ``"customer_id=42"`` for
    an argument's value, the function's return (as text) otherwise. Checked against
    ``limits.MAX_LIMIT_KEY_CHARS``."""
    if key is None:
        return ""
    if callable(key):
        return check_limit_key(str(key(*args, **kwargs)))
    bound = inspect.signature(fn).bind_partial(*args, **kwargs)
    bound.apply_defaults()
    extra = bound.arguments.get("kwargs")
    found = bound.arguments[key] if key in bound.arguments else (
        extra.get(key) if isinstance(extra, dict) else None)
    return check_limit_key(f"{key}={found}")


@dataclass(frozen=True)
class Verdict:
    """What taking a slot decided: ``held`` (go on), ``waiting`` or ``refused``
    (``cancel_newest``); how many slots are held; the holder ``cancel_oldest`` chose to
    cancel ("" for none)."""

    state: str
    held: int
    victim: str = ""


def check_limit(value: Any, what: str) -> Limit:
    if not isinstance(value, Limit):
        raise TypeError(f"{what}: concurrency= takes a pyworkflow.Limit, not {value!r}")
    return value


def check_step_keys(defn: Any, args: tuple[Any, ...] | list[Any],
                    kwargs: dict[str, Any]) -> None:
    """A step's limit keys for these arguments, computed where the workflow calls it: a
    key function that raises or a value past ``MAX_LIMIT_KEY_CHARS`` fails the call in
    the workflow's code (the worker computes the same keys again before the attempt)."""
    if defn.concurrency is not None:
        key_value(defn.concurrency.key, defn.fn, args, kwargs)
    if defn.rate_limit is not None:
        key_value(defn.rate_key, defn.fn, args, kwargs)
