"""``POST /hooks/<token>``: a JSON body resumes the run waiting on that hook.

A hook's token is the whole credential (192 random bits), so the endpoint needs no
other authentication; what it must do is answer every outcome with a status code a
webhook sender understands and never leak what it is given:

* ``202 {"status": "accepted", "run_id": ...}``: delivered; the run resumes at its
  next turn (202, not 200, because the run has not reacted yet). The payload that
  got the 202 is the one the run records (see :mod:`pyworkflow.client.hooks`).
* ``404`` unknown token, ``410`` expired or cancelled (gone for good: a sender must
  not retry), ``409`` already received (another payload won), ``422`` payload
  refused by a typed hook (``errors``: one ``{"loc", "msg", "type"}`` per field,
  never the values sent; the hook stays pending), ``400`` a body that is not
  UTF-8 JSON or nests deeper than the limit, ``411`` no ``Content-Length``, ``413``
  a body over the limit, ``405`` wrong method (with ``Allow``), ``408`` a body that
  does not arrive in time, ``503`` Redis or the broker down (retry later), ``500`` a
  bug. Every error is a JSON body ``{"error": "...", ...}``.

Decisions:

* A typed hook's payload is checked here whether or not the server imports the app's
  module: against the JSON Schema the engine stored with the hook, and with the model
  too when it is registered in this process. It is the check every door shares
  (:func:`pyworkflow.client.hooks.checked_payload`, inside ``resume_hook``), so this answer is
  the CLI's and the dashboard's.

* One decoder and one set of limits with the worker and the CLI
  (:func:`pyworkflow.serialization.parse_json`, ``MAX_BYTES``, ``MAX_DEPTH``): what
  this door accepts the worker can always decode; anything over is a 4xx here,
  never a 202 that the run cannot read.
* The size limit is checked against ``Content-Length`` before a byte of the body is
  read, and bodies without one (chunked) are refused with 411: a sender cannot make
  the server buffer more than the limit. A body refused unread is drained briefly
  when it is small enough, so the sender reads the answer instead of a reset.
* An empty body delivers ``null``, exactly like ``resume_hook(token)``: many webhook
  senders post nothing to say "it happened". A declared non-JSON ``Content-Type``
  (``curl -d`` sends form encoding) is refused with 400 rather than guessed at; no
  ``Content-Type`` at all is read as JSON.
* Deliveries (a few Redis round trips and one publish, all blocking calls) run on a
  small fixed pool of threads owned by the app: the mailbox keeps one broker
  connection per thread, so long-lived threads reuse their connections, and a
  burst of requests cannot open unbounded connections to Redis or the broker. The
  requests themselves are coroutines: a slow client holds no thread.
* Logs carry only the first characters of a token and never a payload.
"""

from __future__ import annotations

import asyncio
import re
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from actors import log as _log

from .. import serialization
from ..client.hooks import (
    TOKEN_SHOWN,
    HookPayloadError,
    payload_errors,
    refusal_status,
    resume_hook,
    short_token,
)
from ..errors import HookAlreadyReceivedError, HookExpiredError, HookNotFoundError
from .replies import Reply, json_reply

__all__ = ["DEFAULT_MAX_BODY", "DELIVERY_THREADS", "Deliveries", "hook_routes",
           "payload_errors"]

#: The body limit: the size limit every payload meets, at this door and in the worker.
DEFAULT_MAX_BODY = serialization.MAX_BYTES
#: How many deliveries run at once (each is a few Redis round trips and one publish).
DELIVERY_THREADS = 8
#: A body that has not fully arrived after this long is answered 408.
BODY_TIMEOUT_S = 15.0
#: Draining a body refused unread: at most this long, and only bodies this small.
LINGER_S = 2.0
LINGER_BYTES = 4 * 1024 * 1024
ALLOWED = ("POST",)

_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what ``secrets.token_urlsafe`` produces
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, KombuOperationalError)

logger = _log.get_logger("pyworkflow.web.hooks")


class Deliveries:
    """The app's delivery threads, started on first use (a mounted app gets no lifespan)."""

    def __init__(self, threads: int = DELIVERY_THREADS) -> None:
        self.threads = threads
        self._pool: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="hook-delivery")
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def _payload_refused(exc: serialization.PayloadError) -> Reply:
    if exc.reason == "size":
        return Reply(413, {"error": "body too large", "limit": exc.limit})
    if exc.reason == "depth":
        return Reply(400, {"error": f"body is not accepted: JSON nested more than "
                                    f"{exc.limit} levels deep", "limit": exc.limit})
    return Reply(400, {"error": f"body is not valid JSON: {exc}"})


def _content_length(request: Request) -> int:
    headers = request.headers
    if headers.get("transfer-encoding"):
        raise Reply(411, {"error": "send the body with a Content-Length; chunked "
                                   "transfer encoding is not accepted"})
    values = set(headers.getlist("content-length"))
    if not values:
        raise Reply(411, {"error": "Content-Length required"})
    text = values.pop().strip()
    if values or not text.isdigit():
        raise Reply(400, {"error": "invalid Content-Length"})
    return int(text)


def _check_content_type(request: Request) -> None:
    declared = request.headers.get("content-type")
    if declared is None:
        return
    mime = declared.split(";", 1)[0].strip().lower()
    if mime != "application/json" and not mime.endswith("+json"):
        raise Reply(400, {"error": f"Content-Type must be application/json, "
                                   f"not {mime or 'empty'!r}"})


async def _read_body(request: Request, length: int) -> bytes:
    chunks: list[bytes] = []
    received = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT_S):
            async for chunk in request.stream():
                received += len(chunk)
                if received > length:
                    raise Reply(400, {"error": "body longer than its Content-Length"})
                chunks.append(chunk)
    except TimeoutError:
        raise Reply(408, {"error": "timed out reading the body"}) from None
    except ClientDisconnect:
        raise Reply(400, {"error": "the client went away before sending its body"}) from None
    if received < length:
        raise Reply(400, {"error": "body shorter than its Content-Length"})
    return b"".join(chunks)


async def _drain(request: Request, declared: int) -> None:
    """Read and drop a small refused body, briefly, so the client reads our answer.

    Closing a connection with unread input makes the kernel send a reset, which can
    destroy the answer before the client reads it (a 413 would show up as
    "connection reset"). Bounded in time and bytes: a 10 GB upload is not read.
    """
    if declared > LINGER_BYTES:
        return
    try:
        await asyncio.wait_for(_consume(request), LINGER_S)
    except (TimeoutError, ClientDisconnect):
        return


async def _consume(request: Request) -> None:
    async for _ in request.stream():
        pass


def _parse(body: bytes) -> Any:
    if not body.strip():
        return None
    try:
        return serialization.parse_json(body, "body")
    except serialization.PayloadError as exc:
        raise _payload_refused(exc) from None


async def _deliver(request: Request, token: str, fields: dict[str, Any]) -> Reply:
    app = request.app
    if not _TOKEN.fullmatch(token):  # cannot be a token: no need to ask Redis
        raise Reply(404, {"error": "no hook with this token"})
    max_body: int = app.state.max_body
    length = _content_length(request)
    if length > max_body:
        await _drain(request, length)
        raise Reply(413, {"error": "body too large", "limit": max_body})
    _check_content_type(request)
    payload = _parse(await _read_body(request, length))
    try:
        info = await app.state.deliveries.run(resume_hook, token, payload)
    except HookNotFoundError:
        raise Reply(404, {"error": "no hook with this token"}) from None
    except HookAlreadyReceivedError:
        raise Reply(409, {"error": "hook already received a payload",
                          "status": "received"}) from None
    except HookExpiredError as exc:
        status = refusal_status(exc)  # expired or cancelled: one error class for both
        raise Reply(410, {"error": f"hook is {status}", "status": status}) from None
    except HookPayloadError as exc:
        fields["hook"] = exc.name
        raise Reply(422, {"error": f"payload does not fit hook {exc.name!r}",
                          "errors": payload_errors(exc)}) from None
    except serialization.PayloadError as exc:  # over the limits once encoded
        raise _payload_refused(exc) from None
    except _UNAVAILABLE as exc:
        fields["error_type"] = type(exc).__name__
        raise Reply(503, {"error": "storage unavailable, retry later"},
                    {"Retry-After": "5"}) from None
    fields.update(hook=info.name, run_id=info.run_id)
    return Reply(202, {"status": "accepted", "run_id": info.run_id})


async def hook_endpoint(request: Request) -> Response:
    """Every method reaches here, so a wrong one gets a JSON 405 with ``Allow``."""
    token: str = request.path_params["token"]
    fields: dict[str, Any] = {"token": short_token(token)}
    request.state.log_fields = fields
    started = time.monotonic()
    try:
        if request.method not in ALLOWED:
            reply = Reply(405, {"error": f"method {request.method} not allowed here",
                                "allow": list(ALLOWED)}, {"Allow": ", ".join(ALLOWED)})
        else:
            reply = await _deliver(request, token, fields)
    except Reply as early:
        reply = early
    except Exception as exc:  # a bug or an unexpected failure: never a traceback page
        _log_failure(exc, token, fields)
        reply = Reply(500, {"error": "internal error"})
    fields["ms"] = round((time.monotonic() - started) * 1000, 1)
    return json_reply(reply)


def _log_failure(exc: Exception, token: str, fields: dict[str, Any]) -> None:
    text = traceback.format_exc()
    if len(token) > TOKEN_SHOWN:  # defence in depth: SDK errors already name a short form
        text = text.replace(token, short_token(token))
    logger.error("hook_http_failure", error_type=type(exc).__name__, traceback=text, **fields)


_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def hook_routes() -> list[Route]:
    """The hook routes (with and without a trailing slash), every method included."""
    return [Route("/hooks/{token}", hook_endpoint, methods=_METHODS),
            Route("/hooks/{token}/", hook_endpoint, methods=_METHODS)]
