"""Loads pyworkflow's own Lua scripts (the ``.lua`` files beside this module), per client.

Each multi-key decision pyworkflow makes outside the actor runtime (a hook's status
move, an idempotency key's claim) is one script, its keys documented at the top of
its file. Scripts run by EVALSHA through redis-py's ``register_script``, which loads
a script again when Redis has forgotten it (a restart): never a plain EVAL, which
would send the whole source on every call.

The same loader serves the sync client and ``redis.asyncio`` clients (their
``register_script`` returns an awaitable script); each client gets its own scripts,
remembered as long as the client lives.
"""

from __future__ import annotations

import weakref
from functools import cache
from pathlib import Path
from typing import Any

_LUA_DIR = Path(__file__).parent

_bound: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


@cache
def source(name: str) -> str:
    """The text of ``<name>.lua`` beside this module; a name with a folder
    (``flow/slot_acquire``) is a script beside another package of pyworkflow's."""
    if "/" in name:
        return (_LUA_DIR.parent / f"{name}.lua").read_text()
    return (_LUA_DIR / f"{name}.lua").read_text()


def script(client: Any, name: str) -> Any:
    """Script ``name`` bound to ``client``: call it as ``script(keys=[...], args=[...])``."""
    loaded = _bound.get(client)
    if loaded is None:
        loaded = _bound[client] = {}
    found = loaded.get(name)
    if found is None:
        found = loaded[name] = client.register_script(source(name))
    return found
