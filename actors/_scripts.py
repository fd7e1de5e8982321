"""Loads the Lua scripts that live beside this module, once per Redis client.

Atomicity in the runtime lives in Redis: every multi-key decision (commit, lease,
timer claim) is one script, documented at the top of its own ``.lua`` file.

Scripts run by EVALSHA. Inside a pipeline redis-py would ask ``SCRIPT EXISTS``
before every execute (one more round trip); :meth:`Scripts.pipeline` instead sends
EVALSHA directly and, if Redis forgot the scripts (a restart), loads them and runs
the pipeline again.

On a Redis Cluster, redis-py refuses scripts inside a pipeline (its pipelines are
split by node, scripts are routed by their keys' slot). There :meth:`Scripts.pipeline`
sends the queued commands one by one, in order, each to the master of its slot: the
same results, one round trip per command. Nothing is lost by it: these pipelines
were never transactions, every decision that must be atomic is one script.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import redis
from redis.cluster import RedisCluster
from redis.commands.core import Script
from redis.exceptions import NoScriptError

_LUA_DIR = Path(__file__).with_name("lua")


@cache
def _source(name: str) -> str:
    return (_LUA_DIR / f"{name}.lua").read_text()


@cache
def _sha(name: str) -> str:
    return hashlib.sha1(_source(name).encode()).hexdigest()


class Scripts:
    """The runtime's scripts bound to one client; ``scripts.commit(keys=..., args=...)``."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._loaded: dict[str, Script] = {}
        self._all_checked = False

    def __getattr__(self, name: str) -> Script:
        if name.startswith("_"):
            raise AttributeError(name)
        script = self._loaded.get(name)
        if script is None:
            script = self._client.register_script(_source(name))
            self._loaded[name] = script
        return script

    def call_in(self, pipe: Any, name: str, keys: list[str], args: list[Any]) -> None:
        """Queue script ``name`` on ``pipe`` (a pipeline built by :meth:`pipeline`)."""
        pipe.evalsha(_sha(name), len(keys), *keys, *args)

    def pipeline(self, build: Callable[[Any], None]) -> list[Any]:
        """Run the commands ``build(pipe)`` queues in one round trip (on a cluster, one
        after the other)."""
        if not self._all_checked:
            self._load_missing()
        for attempt in (1, 2):
            pipe: Any = (_SerialPipeline(self._client) if isinstance(self._client, RedisCluster)
                         else self._client.pipeline(transaction=False))
            build(pipe)
            try:
                replies: list[Any] = pipe.execute()
                return replies
            except NoScriptError:
                if attempt == 2:
                    raise
                self._load_missing()
        raise AssertionError("unreachable")

    def _load_missing(self) -> None:
        """Load every script Redis does not have, before a pipeline needs it. A pipeline
        that meets a missing script runs again whole, so a script that ran before the
        missing one would run twice (a turn's begin counting a crash): that happens
        when only some are missing, as when a new version adds a script to a Redis that
        holds the old ones. A restarted Redis has none, and then nothing ran."""
        names = [path.stem for path in sorted(_LUA_DIR.glob("*.lua"))]
        present = self._client.script_exists(*[_sha(name) for name in names])
        for name, there in zip(names, present, strict=True):
            if not there:
                self._client.script_load(_source(name))
        self._all_checked = True


class _SerialPipeline:
    """What a pipeline offers the builders (``pipe.<command>(...)``, then ``execute``),
    run one command at a time: for a cluster client, which takes no scripts in a
    pipeline. A command's error is raised, as a pipeline's ``execute`` raises it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._queued: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Callable[..., _SerialPipeline]:
        if name.startswith("_"):
            raise AttributeError(name)
        getattr(self._client, name)  # an unknown command fails here, as on a pipeline

        def queue(*args: Any, **kwargs: Any) -> _SerialPipeline:
            self._queued.append((name, args, kwargs))
            return self

        return queue

    def __len__(self) -> int:
        """Commands queued so far (as a pipeline's ``len``)."""
        return len(self._queued)

    def execute(self) -> list[Any]:
        queued, self._queued = self._queued, []
        return [getattr(self._client, name)(*args, **kwargs) for name, args, kwargs in queued]
