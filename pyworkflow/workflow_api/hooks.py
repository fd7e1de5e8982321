"""Hooks, the workflow half: what workflow code awaits to receive a payload from outside.

``await hook(name)`` suspends the run until a payload is delivered to the hook's token
(the engine creates and records the token; see :mod:`pyworkflow.client.hooks` for the
app half that delivers, and for how exactly one delivery wins). ``define_hook(name,
Model)`` makes a typed hook: its model goes with the wait to the engine, which stores
its JSON Schema with the hook, and is registered in :mod:`pyworkflow.registry` so the
doors of this process (the client, the local runtimes) can check a payload with the
model itself. Nothing here touches Redis: workflow code may import it anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from ..engine import in_workflow
from ..engine.commands import HOOK
from ..registry import register_hook_model

__all__ = ["TypedHook", "define_hook", "hook"]

M = TypeVar("M")


async def hook(name: str, timeout: Any = None,
               on_created: Callable[[str], Any] | None = None) -> Any:
    """Suspend the run until a payload is delivered to this hook's token.

    ``on_created(token)`` runs once, after the hook is durably recorded (never on
    replay): send the token to whoever must answer. It must not await steps. With a
    ``timeout`` the wait raises ``HookExpiredError`` when it passes.
    """
    return await _wait(name, timeout, on_created, None)


async def _wait(name: str, timeout: Any, on_created: Callable[[str], Any] | None,
                model: Any) -> Any:
    run = in_workflow()
    if run is None:
        raise RuntimeError("hook() can only be awaited inside a workflow")
    return await HOOK.schedule(run, name, timeout, on_created, model)


class TypedHook(Generic[M]):
    """A hook whose payload must fit a pydantic model.

    The model goes with the wait to the engine, which stores its JSON Schema with the
    hook (so every door can check a payload) and checks each payload that arrives
    against it before the run records it: one the model refuses is rejected and the
    hook waits on (see the module docstring). What the code gets is a model instance.
    """

    def __init__(self, name: str, model: type[M]) -> None:
        self.name = name
        self.model = model

    async def __call__(self, timeout: Any = None,
                       on_created: Callable[[str], Any] | None = None) -> M:
        payload = await _wait(self.name, timeout, on_created, self.model)
        return self.model.model_validate(payload)  # type: ignore[attr-defined,no-any-return]


def define_hook(name: str, model: type[M]) -> TypedHook[M]:
    """A typed hook; registering its model here also lets this process check payloads
    with the model itself when it delivers them (the app's own code, ``--module``)."""
    register_hook_model(name, model)
    return TypedHook(name, model)
