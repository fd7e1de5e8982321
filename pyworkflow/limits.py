"""Size limits on what apps name: checked where a value enters, and again by the engine.

Why limits at all: a signal's name and id are journaled with every signal, shown on
every page and log line that lists it, and the id is also the message id the runtime
keeps (its ``seen`` set) to drop redeliveries. Without a bound, one 64 MB name is
journaled, replayed on every cache miss and sent to every open dashboard tab. The
bounds are far above any name a person or program picks on purpose, so only mistakes
and abuse meet them.

Why printable: these strings end up in terminals (``runs logs``), in the dashboard and
in structured logs; a control character (an escape sequence, a newline) there is at
best confusing and at worst rewrites what an operator sees.

Each check raises ``TypeError`` for a value of the wrong type (or empty, as the client
always has) and ``ValueError`` for a string that breaks a bound; the message names the
value's role and the bound. The client calls these before sending anything; the engine
calls them again on the message it receives (a message may be forged, or sent by an
older client), and refuses one that fails: the message is dead-lettered with the reason,
never journaled.
"""

from __future__ import annotations

import reprlib
from typing import Any

__all__ = ["MAX_IDEMPOTENCY_KEY_CHARS", "MAX_ID_CHARS", "MAX_LIMIT_KEY_CHARS",
           "MAX_SIGNAL_ID_CHARS", "MAX_SIGNAL_NAME_CHARS", "check_idempotency_key",
           "check_limit_key", "check_signal_id", "check_signal_name", "is_id_form", "shown"]

#: The longest signal name, in characters (``send_signal(run_id, name)``,
#: ``wait_for_signal(name)``).
MAX_SIGNAL_NAME_CHARS = 200
#: The longest signal id, in characters (``send_signal(..., signal_id=...)``; a generated
#: id, ``signal:`` and 32 hex digits, is 39).
MAX_SIGNAL_ID_CHARS = 200

#: The longest value of a concurrency or rate limit's key, in characters
#: (``"customer_id=42"``): it names Redis keys and shows in ``runs status``.
MAX_LIMIT_KEY_CHARS = 200

#: The longest idempotency key, in characters (``start(..., idempotency_key=...)``,
#: ``workflows run --idempotency-key``): it names a Redis key, is stored in the run's
#: record and is shown by ``runs status``.
MAX_IDEMPOTENCY_KEY_CHARS = 200

#: The longest run id or hook token a door looks up (the client's calls, the CLI, the
#: dashboard). Far above the longest pyworkflow makes: a schedule firing's run,
#: ``run-`` + its schedule's id (at most 206 characters with ``sched-``) + ``-`` + the
#: fire time (20) + a route (``@queue+p``, at most 43), is 274; a started or child run's
#: id is at most 67 (``run-`` + 20 hex digits + a route), a hook token 32.
MAX_ID_CHARS = 512


def is_id_form(value: Any) -> bool:
    """Whether ``value`` can be a run id or a hook token at all: a string of 1 to
    ``MAX_ID_CHARS`` printable characters. Every door answers anything else as it
    answers an id that names nothing (not found), without asking Redis."""
    return isinstance(value, str) and 0 < len(value) <= MAX_ID_CHARS and value.isprintable()


def check_limit_key(value: Any) -> str:
    """``value`` if it is a usable limit key value: printable, at most
    ``MAX_LIMIT_KEY_CHARS`` characters (may be empty: a limit with no key)."""
    if value == "":
        return value  # type: ignore[no-any-return]
    return check_text(value, "limit key", MAX_LIMIT_KEY_CHARS)


def check_idempotency_key(key: Any) -> str:
    """``key`` if it is a usable idempotency key: a non-empty, printable string of at
    most ``MAX_IDEMPOTENCY_KEY_CHARS`` characters."""
    return check_text(key, "idempotency key", MAX_IDEMPOTENCY_KEY_CHARS)


def check_signal_name(name: Any) -> str:
    """``name`` if it is a usable signal name: a non-empty, printable string of at most
    ``MAX_SIGNAL_NAME_CHARS`` characters."""
    return check_text(name, "signal name", MAX_SIGNAL_NAME_CHARS)


def check_signal_id(signal_id: Any) -> str:
    """``signal_id`` if it is a usable signal id: a non-empty, printable string of at
    most ``MAX_SIGNAL_ID_CHARS`` characters."""
    return check_text(signal_id, "signal id", MAX_SIGNAL_ID_CHARS)


def check_text(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError(f"a {what} is a non-empty string, not {_short(value)}")
    if len(value) > limit:
        raise ValueError(f"a {what} is at most {limit} characters; this one has "
                         f"{len(value)} ({_short(value)})")
    if not value.isprintable():
        bad = next(c for c in value if not c.isprintable())
        raise ValueError(f"a {what} holds only printable characters; {_short(value)} "
                         f"holds {bad!r}")
    return value


def shown(value: Any) -> str:
    """``value`` as an error message shows it: its ``repr``, never the whole of a huge
    one (the first characters, then ``...``)."""
    return _short(value)


def _short(value: Any) -> str:
    """The value as an error message shows it: never the whole of a huge one."""
    shown = reprlib.Repr()
    shown.maxstring = shown.maxother = 60
    return shown.repr(value)
