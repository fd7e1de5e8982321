"""The HTTP endpoint for hooks: ``POST /hooks/<token>`` with a JSON body resumes a run.

A hook's token is the whole credential (192 random bits), so the endpoint needs no
other authentication; what it must do is answer every outcome with a status code a
webhook sender understands and never leak what it is given:

* ``202 {"status": "accepted", "run_id": ...}``: delivered; the run resumes at its
  next turn (202, not 200, because the run has not reacted yet).
* ``404`` unknown token, ``410`` expired or cancelled (gone for good: a sender must not
  retry), ``409`` already received (a retried delivery), ``422`` payload refused by a
  typed hook's model (with ``errors``), ``400`` a body that is not JSON, ``411`` no
  ``Content-Length``, ``413`` a body over the limit, ``405`` wrong method, ``404``
  any other path, ``503`` Redis or the broker down (retry later), ``500`` a bug.
  Every error is a JSON body ``{"error": "...", ...}``.
* ``GET /healthz`` is liveness only (``{"ok": true}``): it does not touch Redis, so a
  Redis hiccup does not get every replica killed by its orchestrator at once.

Decisions:

* The size limit is checked against ``Content-Length`` before a byte of the body is
  read, and bodies without one (chunked) are refused with 411: a sender cannot make
  the server buffer more than the limit. A body refused unread is drained briefly
  (a "lingering close") so the sender reads the answer instead of a reset.
* An empty body delivers ``null``, exactly like ``resume_hook(token)``: many webhook
  senders post nothing to say "it happened". A declared non-JSON ``Content-Type``
  (``curl -d`` sends form encoding) is refused with 400 rather than guessed at; no
  ``Content-Type`` at all is read as JSON. ``NaN``/``Infinity`` are refused: the
  journal cannot hold them.
* Deliveries run on a small fixed thread pool, not on the per-connection threads:
  the mailbox keeps one broker connection per thread, so long-lived delivery threads
  reuse their connections instead of opening one per request, and a burst of
  requests cannot open unbounded connections to Redis or the broker.
* Logs carry only the first 6 characters of a token and never a payload; the
  standard library's access log (which prints the full path) is replaced.
* Shutdown stops accepting, then waits for requests in flight: a delivery is not
  cut between sending the run its message and marking the hook received (were it
  cut, the sender's retry would finish it: see :mod:`pyworkflow.hooks`).
"""

from __future__ import annotations

import json
import re
import signal
import socket
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from actors import log as _log

from .errors import HookAlreadyReceivedError, HookExpiredError, HookNotFoundError
from .hooks import TOKEN_SHOWN, HookPayloadError, refusal_status, resume_hook, short_token

__all__ = ["DEFAULT_MAX_BODY", "HookServer", "make_server", "payload_errors",
           "serve_until_stopped", "short_token"]

DEFAULT_MAX_BODY = 1024 * 1024
#: How many deliveries run at once (each is a few Redis round trips and one publish).
DELIVERY_THREADS = 8
#: Per-socket-operation timeout: a client that stops sending mid-body frees its thread.
REQUEST_TIMEOUT_S = 15.0
#: Lingering close after refusing a body unread: at most this long, this many bytes.
LINGER_S = 2.0
LINGER_BYTES = 4 * 1024 * 1024

_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")  # what ``secrets.token_urlsafe`` produces
_HOOK_PATH = re.compile(r"/hooks/(?P<token>[^/]+)/?")
_PATH_TOKEN = re.compile(rf"(/hooks/[^/\s?#]{{0,{TOKEN_SHOWN}}})[^/\s?#]*")
_ROUTES = ["POST /hooks/<token>", "GET /healthz"]
_ALLOWED = {"hook": ("POST",), "healthz": ("GET", "HEAD")}
_UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, KombuOperationalError)

logger = _log.get_logger("pyworkflow.hook_server")


def _redact(text: str) -> str:
    """Cut every ``/hooks/<token>`` in ``text`` down to the token's first characters."""
    return _PATH_TOKEN.sub(lambda m: m.group(1) + ("…" if m.group(0) != m.group(1) else ""),
                           text)


def payload_errors(exc: HookPayloadError) -> list[dict[str, Any]]:
    """The validation errors as plain JSON: location, message and error type only.

    Pydantic's error dicts also carry the offending ``input`` and ``ctx`` objects; those
    are dropped so the answer never reflects the payload back and always serialises.
    """
    raw = exc.errors
    if not isinstance(raw, list):
        return [{"loc": [], "msg": str(raw), "type": "invalid"}]
    shown: list[dict[str, Any]] = []
    for item in raw:
        if not isinstance(item, dict):
            shown.append({"loc": [], "msg": str(item), "type": "invalid"})
            continue
        shown.append({"loc": [p if isinstance(p, int) else str(p) for p in item.get("loc", ())],
                      "msg": str(item.get("msg", "")), "type": str(item.get("type", "invalid"))})
    return shown


def _refuse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not allowed")


class _Reply(Exception):
    """An answer decided early: raised by a check, sent by the dispatcher."""

    def __init__(self, status: int, body: dict[str, Any],
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


class HookRequestHandler(BaseHTTPRequestHandler):
    """One request: route it, check the body, deliver it, answer in JSON."""

    server: HookServer
    server_version = "pyworkflow-hooks"
    timeout = REQUEST_TIMEOUT_S
    protocol_version = "HTTP/1.0"  # one request per connection: nothing to desynchronise

    # Standard methods all reach the router, which answers 405 or 404; a method HTTP
    # does not define gets the standard library's 501 (in JSON, see send_error).
    def do_GET(self) -> None:  # noqa: N802  (the standard library's naming)
        self._dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def do_OPTIONS(self) -> None:  # noqa: N802
        self._dispatch()

    # -- dispatching ------------------------------------------------------------------
    def _dispatch(self) -> None:
        started = time.monotonic()
        self._fields: dict[str, Any] = {}
        self._token = ""
        self._body_read = False
        try:
            reply = self._handle()
        except _Reply as early:
            reply = early
        except Exception as exc:  # a bug or an unexpected failure: never a traceback page
            self._log_failure(exc)
            reply = _Reply(500, {"error": "internal error"})
        try:
            self._send(reply.status, reply.body, reply.headers)
        finally:
            if not self._body_read:
                self._linger()
            logger.info("hook_http_request", method=self.command,
                        path=_redact(urlsplit(self.path).path), status=reply.status,
                        ms=round((time.monotonic() - started) * 1000, 1),
                        client=self.client_address[0], **self._fields)

    def _handle(self) -> _Reply:
        route, token = self._route()
        allowed = _ALLOWED[route]
        if self.command not in allowed:
            raise _Reply(405, {"error": f"method {self.command} not allowed here",
                               "allow": list(allowed)}, {"Allow": ", ".join(allowed)})
        if route == "healthz":
            return _Reply(200, {"ok": True})
        return self._deliver(token)

    def _route(self) -> tuple[str, str]:
        path = urlsplit(self.path).path
        if path == "/healthz":
            return "healthz", ""
        match = _HOOK_PATH.fullmatch(path)
        if match is None:
            raise _Reply(404, {"error": "not found", "routes": _ROUTES})
        return "hook", unquote(match["token"])

    # -- the hook route -----------------------------------------------------------------
    def _deliver(self, token: str) -> _Reply:
        self._token = token
        self._fields["token"] = short_token(token)
        if not _TOKEN.fullmatch(token):  # cannot be a token: no need to ask Redis
            raise _Reply(404, {"error": "no hook with this token"})
        length = self._content_length()
        self._check_content_type()
        payload = self._parse(self._read_body(length))
        try:
            info = self.server.deliveries.submit(resume_hook, token, payload).result()
        except HookNotFoundError:
            raise _Reply(404, {"error": "no hook with this token"}) from None
        except HookAlreadyReceivedError:
            raise _Reply(409, {"error": "hook already received a payload",
                               "status": "received"}) from None
        except HookExpiredError as exc:
            status = refusal_status(exc)  # expired or cancelled: one error class for both
            raise _Reply(410, {"error": f"hook is {status}", "status": status}) from None
        except HookPayloadError as exc:
            name = exc.name
            self._fields["hook"] = name
            raise _Reply(422, {"error": f"payload does not fit hook {name!r}",
                               "errors": payload_errors(exc)}) from None
        except _UNAVAILABLE as exc:
            self._fields["error_type"] = type(exc).__name__
            raise _Reply(503, {"error": "storage unavailable, retry later"},
                         {"Retry-After": "5"}) from None
        self._fields.update(hook=info.name, run_id=info.run_id)
        return _Reply(202, {"status": "accepted", "run_id": info.run_id})

    def _content_length(self) -> int:
        if self.headers.get("Transfer-Encoding"):
            raise _Reply(411, {"error": "send the body with a Content-Length; chunked "
                                        "transfer encoding is not accepted"})
        values = set(self.headers.get_all("Content-Length") or [])
        if not values:
            raise _Reply(411, {"error": "Content-Length required"})
        text = values.pop().strip()
        if values or not text.isdigit():
            raise _Reply(400, {"error": "invalid Content-Length"})
        length = int(text)
        if length > self.server.max_body:
            raise _Reply(413, {"error": "body too large", "limit": self.server.max_body})
        return length

    def _check_content_type(self) -> None:
        declared = self.headers.get("Content-Type")
        if declared is None:
            return
        mime = declared.split(";", 1)[0].strip().lower()
        if mime != "application/json" and not mime.endswith("+json"):
            raise _Reply(400, {"error": f"Content-Type must be application/json, "
                                        f"not {mime or 'empty'!r}"})

    def _read_body(self, length: int) -> bytes:
        try:
            body = self.rfile.read(length)
        except (TimeoutError, OSError):
            self._body_read = True  # the connection is unusable; do not wait on it again
            raise _Reply(408, {"error": "timed out reading the body"}) from None
        self._body_read = True
        if len(body) < length:
            raise _Reply(400, {"error": "body shorter than its Content-Length"})
        return body

    @staticmethod
    def _parse(body: bytes) -> Any:
        if not body.strip():
            return None
        try:
            return json.loads(body, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _Reply(400, {"error": f"body is not valid JSON: {exc}"}) from None

    # -- answering ------------------------------------------------------------------------
    def version_string(self) -> str:
        """No Python version in the ``Server`` header: nothing to fingerprint."""
        return self.server_version

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None,
              ) -> None:
        data = json.dumps(body).encode() + b"\n"
        if status >= 400:
            self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _linger(self) -> None:
        """Drop what the client is still sending, briefly, before the socket closes.

        Closing a socket with unread input makes the kernel send a reset, which can
        destroy our answer before the client reads it (a 413 would show up as
        "connection reset"). Bounded in time and bytes, so a 10 GB upload is not read.
        """
        declared = (self.headers.get("Content-Length") or "").strip()
        if declared.isdigit():
            budget = min(int(declared), LINGER_BYTES)
        elif self.headers.get("Transfer-Encoding"):
            budget = LINGER_BYTES
        else:
            return
        deadline = time.monotonic() + LINGER_S
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_WR)
            while budget > 0 and (left := deadline - time.monotonic()) > 0:
                self.connection.settimeout(left)
                chunk = self.connection.recv(min(65536, budget))
                if not chunk:
                    return
                budget -= len(chunk)
        except OSError:
            return

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """The standard library's own errors (bad request line, 501...) in JSON too."""
        self.log_error("code %d, message %s", code, message)
        self._send(code, {"error": message or HTTPStatus(code).phrase})

    # -- logging: never the full token, never a payload ---------------------------------
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silenced: :meth:`_dispatch` logs each request once, with the token cut."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (stdlib name)
        logger.warning("hook_http_error", detail=_redact(format % args),
                       client=self.client_address[0])

    def _log_failure(self, exc: Exception) -> None:
        text = traceback.format_exc()
        if len(self._token) > TOKEN_SHOWN:  # defence in depth: SDK errors name a short form
            text = text.replace(self._token, short_token(self._token))
        logger.error("hook_http_failure", error_type=type(exc).__name__,
                     traceback=_redact(text), **self._fields)


class HookServer(ThreadingHTTPServer):
    """A threading HTTP server that owns the delivery pool and the body limit."""

    # Handler threads are joined on close, so a delivery in flight finishes.
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], max_body: int = DEFAULT_MAX_BODY,
                 delivery_threads: int = DELIVERY_THREADS) -> None:
        self.max_body = max_body
        super().__init__(address, HookRequestHandler)
        self.deliveries = ThreadPoolExecutor(max_workers=delivery_threads,
                                             thread_name_prefix="hook-delivery")

    def server_close(self) -> None:
        super().server_close()
        self.deliveries.shutdown(wait=True)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://[{name}]:{port}" if ":" in name else f"http://{name}:{port}"


class _HookServer6(HookServer):
    address_family = socket.AF_INET6


def make_server(host: str = "127.0.0.1", port: int = 8080, *,
                max_body: int = DEFAULT_MAX_BODY) -> HookServer:
    """A bound, listening server; call ``serve_forever()`` (port 0 picks a free port)."""
    cls = _HookServer6 if ":" in host else HookServer
    return cls((host, port), max_body=max_body)


def serve_until_stopped(server: HookServer) -> int:
    """Serve until SIGINT or SIGTERM, then stop gracefully; returns the signal number.

    The server loop runs on a thread and the main thread only waits for a signal:
    ``shutdown()`` called from a signal handler on the serving thread would deadlock.
    Must be called from the main thread (signal handlers can only be set there).
    """
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, _frame: Any) -> None:
        received.append(signum)
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    loop = threading.Thread(target=server.serve_forever, name="hook-server", daemon=True)
    loop.start()
    logger.info("hook_server_started", url=server.url, max_body=server.max_body)
    try:
        while not stop.wait(0.5):
            if not loop.is_alive():
                break
    finally:
        server.shutdown()
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        logger.info("hook_server_stopped", signal=received[0] if received else None)
    return received[0] if received else 0
