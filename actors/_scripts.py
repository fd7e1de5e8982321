"""Loads the Lua scripts that live beside this module, once per Redis client.

Atomicity in the runtime lives in Redis: every multi-key decision (commit, lease,
timer claim) is one script, documented at the top of its own ``.lua`` file.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import redis
from redis.commands.core import Script

_LUA_DIR = Path(__file__).with_name("lua")


@cache
def _source(name: str) -> str:
    return (_LUA_DIR / f"{name}.lua").read_text()


class Scripts:
    """The runtime's scripts bound to one client; ``scripts.commit(keys=..., args=...)``."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._loaded: dict[str, Script] = {}

    def __getattr__(self, name: str) -> Script:
        if name.startswith("_"):
            raise AttributeError(name)
        script = self._loaded.get(name)
        if script is None:
            script = self._client.register_script(_source(name))
            self._loaded[name] = script
        return script
