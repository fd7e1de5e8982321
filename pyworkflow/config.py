"""Configuration of pyworkflow, in one module.

Every process (CLI, worker, app) calls :func:`load_settings` once and passes the
resulting frozen :class:`Settings` around, so no code reads the environment or a
file on its own. Sources, lowest to highest priority:

1. built-in defaults;
2. ``[tool.pyworkflow]`` in ``pyproject.toml`` in the current directory;
3. ``pyworkflow.toml`` in the current directory (top-level keys or a
   ``[pyworkflow]`` table);
4. an explicit config file (``--config``);
5. ``PYWORKFLOW_*`` environment variables (an empty value counts as unset, so a
   compose file's ``${X:-}`` does not override a file).

A relative ``data_dir`` in a file is resolved against that file's directory (so
a project's setting does not depend on where the CLI is started); from the
environment or the defaults it is resolved against the current directory.

Redis URLs may carry passwords, so :class:`Settings` never prints them: its
repr goes through :func:`redact_url`.

``redis_url`` and ``broker_url`` accept ``redis://``, ``rediss://``, ``unix://``
(and Kombu's ``redis+socket://``), any node of a Redis Cluster (``redis_cluster``),
and a master behind Redis Sentinel (``actors.sentinel``)::

    redis+sentinel://[[user]:password@]host1[:port1][,host2[:port2]...]/<master>[/<db>]

where the hosts are the sentinels (port 26379 by default), ``<master>`` the name
they monitor, and the password the master's (sentinels with a password of their
own: ``?sentinel_password=...``). The broker then uses Kombu's ``sentinel://``
transport with ``master_name`` in its options; ``broker_url`` may also be any
other Kombu URL (``amqp://``).
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import redis
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from actors import redaction, sentinel

from . import defaults
from .durations import parse_duration
from .redis_cluster import cluster_client, is_cluster_node

__all__ = [
    "ConfigError",
    "DEFAULT_REDIS_URL",
    "LOG_FORMATS",
    "MODULE_ENV",
    "Settings",
    "celery_broker_url",
    "load_settings",
    "normalize_url",
    "redact_url",
    "redis_client",
]

DEFAULT_REDIS_URL = defaults.REDIS_URL
#: The environment variable naming the module that defines the workflows (``--module``).
MODULE_ENV = "PYWORKFLOW_MODULE"
LOG_FORMATS = ("auto", "json", "console")
_KEYS = ("redis_url", "broker_url", "key_prefix", "data_dir", "log_format",
         "idempotency_retention", "history_warn_events", "history_limit_events",
         "run_retention")
_ENV = {key: "PYWORKFLOW_" + key.upper() for key in _KEYS}


class ConfigError(Exception):
    """A configuration source is unreadable or holds an invalid value.

    The message always names the source (file path or environment variable), so
    the user knows what to fix without a traceback.
    """


def _default_data_dir() -> str:
    return os.path.abspath(defaults.DATA_DIR_NAME)


@dataclass(frozen=True, repr=False)
class Settings:
    """Resolved configuration; frozen so it can be shared across threads safely.

    ``*_configured`` tell whether the user chose a URL anywhere (file or env):
    only an unconfigured Redis may be replaced by the embedded server.
    """

    redis_url: str = DEFAULT_REDIS_URL
    broker_url: str = DEFAULT_REDIS_URL
    key_prefix: str = defaults.KEY_PREFIX
    data_dir: str = field(default_factory=_default_data_dir)
    redis_url_configured: bool = False
    broker_url_configured: bool = False
    log_format: str = defaults.LOG_FORMAT
    #: How long an idempotency key is kept after its run ends, in seconds.
    idempotency_retention: float = defaults.IDEMPOTENCY_RETENTION_S
    #: How long a finished run is kept before it is purged (None: forever).
    run_retention: float | None = defaults.RUN_RETENTION_S
    #: A run's journal size that logs a warning, and the size that parks it (0: never).
    history_warn_events: int = defaults.HISTORY_WARN_EVENTS
    history_limit_events: int = defaults.HISTORY_LIMIT_EVENTS
    #: True once the URLs point at the embedded server (set by ``resolve_redis``).
    embedded: bool = False
    #: The files that contributed values, for ``config show``-style output.
    sources: tuple[str, ...] = ()

    def with_urls(self, redis_url: str, broker_url: str | None = None) -> Settings:
        """Return a copy pointing at other servers.

        Without ``broker_url``, an explicitly configured broker is kept and an
        unconfigured one follows the new Redis URL (converted for Kombu).
        """
        if broker_url is None:
            broker_url = (
                self.broker_url if self.broker_url_configured else celery_broker_url(redis_url)
            )
        return dataclasses.replace(self, redis_url=redis_url, broker_url=broker_url)

    def describe(self) -> dict[str, object]:
        """Return the settings as a dict with credentials redacted, for display."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        values["redis_url"] = redact_url(self.redis_url)
        values["broker_url"] = redact_url(self.broker_url)
        return values

    def __repr__(self) -> str:
        inner = ", ".join(f"{name}={value!r}" for name, value in self.describe().items())
        return f"Settings({inner})"

    __str__ = __repr__


def redact_url(url: str) -> str:
    """Hide the credentials of a URL so it can be shown (see :mod:`actors.redaction`).

    ``redis://:secret@h:6379/0`` -> ``redis://:***@h:6379/0``;
    ``amqp://user:pw@h//`` -> ``amqp://user:***@h//``; a bare userinfo
    (``redis://token@h``, as some hosted Redis services give) and password-like
    query parameters are hidden too. The same function redacts log lines.
    """
    return redaction.redact_url(url)


def _encode_userinfo_part(part: str) -> str:
    """Percent-encode what would break a URL, keeping ``%XX`` the user already wrote."""
    part = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", part)
    return quote(part, safe="%!$&'()*+,;=~-._")


def normalize_url(url: str, source: str) -> str:
    """Return ``url`` with its userinfo percent-encoded, after checking its shape.

    A password pasted with a raw ``/``, ``?``, ``#`` or ``@`` would otherwise be
    split by redis-py and Kombu into a host, a port and a path, and quoted in
    pieces in their errors ("Port could not be cast to integer value as 'pa'").
    The userinfo is taken up to the last ``@`` (the rule of
    :func:`actors.redaction.split_url`). Its password is registered with the
    redactor, so no log line or error shows it. Errors name ``source`` and show
    the URL redacted.
    """
    failover = re.split(r";(?=[A-Za-z][A-Za-z0-9+.-]*://)", url)
    if len(failover) > 1:  # Kombu's "url1;url2" list of brokers to fail over between
        return ";".join(normalize_url(one, source) for one in failover)
    scheme, userinfo, rest = redaction.split_url(url)
    if not scheme.endswith("://") or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*://", scheme):
        # Not shown at all: without a scheme, nothing tells where a password starts.
        raise ConfigError(f"{source}: not a URL (expected scheme://host..., e.g. "
                          f"{DEFAULT_REDIS_URL})")
    if userinfo is not None:
        user, colon, password = userinfo.partition(":")
        redaction.register_secret(password if colon else user)
        userinfo = _encode_userinfo_part(user) + (
            ":" + _encode_userinfo_part(password) if colon else "")
        redaction.register_secret(userinfo.partition(":")[2] if colon else userinfo)
        url = f"{scheme}{userinfo}@{rest}"
    if sentinel.is_sentinel_url(url):
        try:
            target = sentinel.parse(url)
        except ValueError as exc:
            raise ConfigError(f"{source}: {redact_url(url)!r}: {exc}") from None
        redaction.register_secret(target.sentinel_password)
        return url
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    port = authority.rpartition("]")[2].rpartition(":")[2] if ":" in authority else ""
    if port and not port.isdigit():
        raise ConfigError(f"{source}: the port of {redact_url(url)!r} is not a number")
    return url


def _join_url(scheme: str, netloc: str, path: str, query: str) -> str:
    """Assemble a URL keeping ``//`` even with an empty host (urlunsplit drops it)."""
    return f"{scheme}://{netloc}{path}" + (f"?{query}" if query else "")


def _socket_url_to_unix(url: str) -> str:
    """Translate Kombu's ``redis+socket:///path?virtual_host=N`` to redis-py's form."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    db = query.pop("virtual_host", "").strip("/")
    if db and "db" not in query:
        query["db"] = db
    return _join_url("unix", parts.netloc, parts.path, urlencode(query))


def redis_client(
    url: str,
    *,
    socket_timeout: float | None = 30.0,
    socket_connect_timeout: float = 5.0,
    retries: int = 5,
    health_check_interval: int = 30,
    client_name: str | None = "pyworkflow",
    **kwargs: Any,
) -> redis.Redis:
    """Build a ``redis.Redis`` (bytes in, bytes out) from any URL we accept.

    Accepts ``redis://``, ``rediss://`` (TLS), ``unix://`` and Kombu's
    ``redis+socket://`` / ``socket://`` forms, so one URL can serve both Celery
    and our own client; a ``redis+sentinel://`` URL gives a client on the master
    its sentinels name (each new connection asks them, so after a failover the
    retries below reconnect to the promoted replica). Connection errors
    (including Redis replying LOADING while it replays its AOF after a restart)
    are retried with exponential
    backoff, about 9 s in all with the defaults, so a Redis restart is survived
    rather than failing every turn in flight. ``socket_timeout`` bounds a hung
    connection; blocking commands (BLPOP, XREAD BLOCK) must block for less.
    """
    scheme = url.partition("://")[0].lower()
    if scheme in ("redis+socket", "socket"):
        url = _socket_url_to_unix(url)
        scheme = "unix"
    options: dict[str, Any] = {
        "decode_responses": False,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": socket_connect_timeout,
        "health_check_interval": health_check_interval,
        "client_name": client_name,
        "retry": Retry(
            ExponentialBackoff(cap=3.0, base=0.2),
            retries,
            supported_errors=(RedisConnectionError, RedisTimeoutError, ConnectionError),
        ),
    }
    if scheme != "unix":
        # Keepalive is a TCP option; the unix connection class rejects it.
        options["socket_keepalive"] = True
    options.update(kwargs)
    if scheme == sentinel.SCHEME:
        return sentinel.client(url, options)  # type: ignore[no-any-return]
    client = redis.Redis.from_url(url, **options)
    if scheme == "unix" or not is_cluster_node(client):
        return client
    client.close()
    cluster: redis.Redis = cluster_client(url, options)  # typed as a client: see there
    return cluster


def celery_broker_url(url: str) -> str:
    """Convert a redis-py URL into the form Kombu reads.

    Kombu does not understand ``unix://`` (``unix:///path?db=N`` becomes
    ``redis+socket:///path`` with the database as ``virtual_host``), nor a
    ``?password=`` / ``?username=`` in the query, which redis-py accepts (they
    move into the userinfo, percent-encoded). Any other URL (amqp, already
    converted, ``redis+sentinel://``) is returned as it is: Kombu names a
    sentinel master in its transport options, not in the URL, so that one is
    converted where a Kombu connection is made (``actors.sentinel.kombu_form``).
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("unix", "redis", "rediss"):
        return url
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    netloc = parts.netloc
    if "password" in query or "username" in query:
        user = (quote(query.pop("username"), safe="") if "username" in query
                else parts.username or "")
        password = query.pop("password", None)
        secret = quote(password, safe="") if password is not None else parts.password
        host = netloc.rpartition("@")[2]
        netloc = f"{user}:{secret}@{host}" if secret is not None else f"{user}@{host}"
    elif scheme != "unix":
        return url
    if scheme == "unix":
        db = query.pop("db", "0") or "0"
        if db != "0":
            query["virtual_host"] = db
        scheme = "redis+socket"
    return _join_url(scheme, netloc, parts.path, urlencode(query))


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror or exc}") from exc


def _section(path: str, data: dict[str, Any], *, pyproject: bool) -> dict[str, Any]:
    """Pick our keys out of a parsed file and validate them."""
    if pyproject:
        tool = data.get("tool", {})
        raw = tool.get("pyworkflow", {}) if isinstance(tool, dict) else {}
        where = "[tool.pyworkflow]"
    else:
        raw = {k: v for k, v in data.items() if k != "pyworkflow"}
        table = data.get("pyworkflow", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: 'pyworkflow' must be a table")
        raw.update(table)
        where = "[pyworkflow]" if "pyworkflow" in data else "top level"
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: {where} must be a table")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in _KEYS:
            raise ConfigError(f"{path}: unknown key {key!r} in {where} (known: {', '.join(_KEYS)})")
        if not isinstance(value, str):
            raise ConfigError(f"{path}: {key!r} must be a string, got {type(value).__name__}")
        if name == "data_dir":
            base = os.path.dirname(os.path.abspath(path))
            value = os.path.join(base, os.path.expanduser(value))
        values[name] = (value, path)
    return values


def log_format(env: Mapping[str, str] | None = None,
               config_file: str | None = None) -> str | None:
    """pyworkflow's line format, handed to ``actors.log.configure(fmt=...)``: the runtime
    reads only its own ``ACTORS_LOG_FORMAT``, so the product passes its setting on
    explicitly: ``PYWORKFLOW_LOG_FORMAT``, else ``log_format`` in the project's files
    (as ``load_settings`` reads them). None when neither sets it (then the runtime's
    variable, then ``auto``, decide), and when the files cannot be read: logging is
    configured first, so that the error about them can be logged."""
    environ = os.environ if env is None else env
    if environ.get(_ENV["log_format"]):
        return environ[_ENV["log_format"]]
    try:
        merged, _ = _from_files(config_file)
    except (ConfigError, OSError):
        return None
    value = merged.get("log_format", ("", ""))[0].strip().lower()
    return value if value in LOG_FORMATS else None


def _from_files(config_file: str | None) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """What the project's files say (``pyproject.toml``, then ``pyworkflow.toml`` in the
    working directory, then ``config_file``): key -> (value, file), and the files read."""
    cwd = os.getcwd()
    merged: dict[str, tuple[str, str]] = {}  # key -> (value, source)
    sources: list[str] = []
    candidates: list[tuple[str, bool]] = [
        (os.path.join(cwd, "pyproject.toml"), True),
        (os.path.join(cwd, "pyworkflow.toml"), False),
    ]
    for path, pyproject in candidates:
        if os.path.isfile(path):
            found = _section(path, _read_toml(path), pyproject=pyproject)
            if found:
                merged.update(found)
                sources.append(path)
    if config_file is not None:
        path = os.path.abspath(config_file)
        if not os.path.isfile(path):
            raise ConfigError(f"{path}: config file not found")
        merged.update(_section(path, _read_toml(path), pyproject=False))
        sources.append(path)
    return merged, sources


def load_settings(
    config_file: str | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> Settings:
    """Merge defaults, project files, ``config_file`` and the environment.

    ``env`` defaults to ``os.environ`` (a parameter so callers and tests can
    pass another mapping). Raises :class:`ConfigError` naming the file or
    variable at fault.
    """
    environ = os.environ if env is None else env
    merged, sources = _from_files(config_file)
    for key, var in _ENV.items():
        value = environ.get(var, "").strip()
        if value:
            if key == "data_dir":
                value = os.path.abspath(os.path.expanduser(value))
            merged[key] = (value, var)

    def get(key: str, default: str) -> str:
        return merged[key][0] if key in merged else default

    redis_url = get("redis_url", DEFAULT_REDIS_URL)
    if "redis_url" in merged:
        redis_url = normalize_url(redis_url, merged["redis_url"][1])
    broker_url = get("broker_url", redis_url)
    if "broker_url" in merged:
        broker_url = normalize_url(broker_url, merged["broker_url"][1])
    broker_url = celery_broker_url(broker_url)
    log_format = get("log_format", defaults.LOG_FORMAT).lower()
    if log_format not in LOG_FORMATS:
        raise ConfigError(
            f"{merged['log_format'][1]}: log_format must be one of "
            f"{', '.join(LOG_FORMATS)}, got {log_format!r}"
        )
    key_prefix = get("key_prefix", defaults.KEY_PREFIX).strip()
    if not key_prefix or any(c in key_prefix for c in "{} \t"):
        raise ConfigError(
            f"{merged['key_prefix'][1]}: key_prefix must be non-empty, "
            "without spaces or braces (braces are reserved for hash tags)"
        )
    try:
        retention = (parse_duration(merged["idempotency_retention"][0])
                     if "idempotency_retention" in merged else defaults.IDEMPOTENCY_RETENTION_S)
    except ValueError as exc:
        raise ConfigError(f"{merged['idempotency_retention'][1]}: idempotency_retention "
                          f"{exc}") from None
    raw_retention = get("run_retention", "").strip()
    try:
        run_retention = (defaults.RUN_RETENTION_S if "run_retention" not in merged
                         else None if raw_retention.lower() in ("none", "forever")
                         else parse_duration(raw_retention))
    except ValueError as exc:
        raise ConfigError(f"{merged['run_retention'][1]}: run_retention {exc} (or 'none' "
                          "to keep finished runs forever)") from None
    sizes: dict[str, int] = {}
    for key, default in (("history_warn_events", defaults.HISTORY_WARN_EVENTS),
                         ("history_limit_events", defaults.HISTORY_LIMIT_EVENTS)):
        raw = get(key, str(default))
        if not raw.isdigit():
            raise ConfigError(f"{merged[key][1]}: {key} must be a whole number, got {raw!r}")
        sizes[key] = int(raw)
    return Settings(
        idempotency_retention=retention,
        run_retention=run_retention,
        history_warn_events=sizes["history_warn_events"],
        history_limit_events=sizes["history_limit_events"],
        redis_url=redis_url,
        broker_url=broker_url,
        key_prefix=key_prefix,
        data_dir=os.path.abspath(get("data_dir", defaults.DATA_DIR_NAME)),
        redis_url_configured="redis_url" in merged,
        broker_url_configured="broker_url" in merged,
        log_format=log_format,
        sources=tuple(sources),
    )
