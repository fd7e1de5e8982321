"""Redis Sentinel: one URL for a monitored master, and what redis-py and Kombu need from it.

The URL form is the one of the ``redis-sentinel-url`` package (which
flask-redis-sentinel and celery-redis-sentinel read too)::

    redis+sentinel://[[user]:password@]host1[:port1][,host2[:port2]...]/<master>[/<db>]
                     [?sentinel_password=...&sentinel_username=...]

* the hosts are the **sentinels** (port 26379 when left out), not Redis servers;
* ``<master>`` is the name the sentinels monitor (``sentinel monitor <master> ...``);
  ``<db>`` is the database number, 0 when left out;
* the userinfo authenticates to the master (and its replicas), as in ``redis://``;
  sentinels that require a password of their own take ``sentinel_password``.

One URL serves the journal client (redis-py's ``Sentinel.master_for``: every new
connection asks the sentinels where the master is, so a client follows a
failover once its retries reconnect) and the broker (Kombu's ``sentinel://``
transport, which wants the sentinels as a ``;`` list and the master's name in its
transport options, not in the URL: :func:`kombu_form`). Kombu has no URL form that
names the master, which is why a configured URL is in this form and is converted
where a Kombu connection is made.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote

import redis
import redis.asyncio
from redis.asyncio.sentinel import Sentinel as AsyncSentinel
from redis.asyncio.sentinel import SentinelManagedConnection as AsyncSentinelManagedConnection
from redis.sentinel import Sentinel, SentinelManagedConnection

from .redaction import split_url

__all__ = ["SCHEME", "SentinelTarget", "async_client", "client", "is_sentinel_url",
           "kombu_form", "parse", "same_master"]

SCHEME = "redis+sentinel"
DEFAULT_PORT = 26379
_QUERY_KEYS = ("sentinel_password", "sentinel_username")
_HOST = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[^:\[\]]+)(?::(?P<port>[^:]*))?")


@dataclass(frozen=True)
class SentinelTarget:
    """What a ``redis+sentinel://`` URL names: a master, by name, behind its sentinels."""

    sentinels: tuple[tuple[str, int], ...]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_username: str | None = None
    sentinel_password: str | None = None

    def identity(self) -> tuple[frozenset[tuple[str, int]], str, int]:
        """Sentinels (as a set, ``localhost`` taken as 127.0.0.1), master name and db:
        two URLs with the same identity reach the same keys."""
        hosts = frozenset(("127.0.0.1" if h == "localhost" else h, p) for h, p in self.sentinels)
        return hosts, self.master, self.db

    def sentinel_kwargs(self, options: dict[str, Any]) -> dict[str, Any]:
        """How to reach the sentinels: the socket timeouts of ``options``, and their
        own credentials (never the master's)."""
        kwargs = {k: v for k, v in options.items() if k.startswith("socket_")}
        if self.sentinel_password is not None:
            kwargs["password"] = self.sentinel_password
        if self.sentinel_username is not None:
            kwargs["username"] = self.sentinel_username
        return kwargs

    def master_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"db": self.db}
        if self.password is not None:
            kwargs["password"] = self.password
        if self.username is not None:
            kwargs["username"] = self.username
        return kwargs


def is_sentinel_url(url: str) -> bool:
    return url.partition("://")[0].lower() == SCHEME


def parse(url: str) -> SentinelTarget:
    """Read a ``redis+sentinel://`` URL; ``ValueError`` says what is wrong (it never
    quotes the URL, which may hold a password)."""
    scheme, userinfo, rest = split_url(url)
    if scheme.lower() != SCHEME + "://":
        raise ValueError(f"not a {SCHEME}:// URL")
    rest, _, query = rest.partition("?")
    hosts, _, path = rest.partition("/")
    sentinels: list[tuple[str, int]] = []
    for one in hosts.split(","):
        match = _HOST.fullmatch(one.strip())
        if match is None:
            raise ValueError("expected sentinels as host:port[,host:port...] before the "
                             "master's name")
        port = match["port"] or str(DEFAULT_PORT)
        if not port.isdigit():
            raise ValueError("a sentinel's port is not a number")
        sentinels.append((match["host"].strip("[]"), int(port)))
    parts = [unquote(p) for p in path.split("/") if p]
    if not parts or len(parts) > 2:
        raise ValueError(f"expected /<master name>[/<db>] after the sentinels "
                         f"({SCHEME}://host:26379,host2:26379/mymaster/0)")
    if len(parts) == 2 and not parts[1].isdigit():
        raise ValueError("the database after the master's name is not a number")
    params = dict(parse_qsl(query, keep_blank_values=True))
    unknown = sorted(set(params) - set(_QUERY_KEYS))
    if unknown:
        raise ValueError(f"unknown option(s) {', '.join(unknown)} (known: "
                         f"{', '.join(_QUERY_KEYS)})")
    username = password = None
    if userinfo is not None:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None if colon else None
        password = unquote(secret if colon else user)
    return SentinelTarget(
        sentinels=tuple(sentinels), master=parts[0], db=int(parts[1]) if len(parts) == 2 else 0,
        username=username, password=password,
        sentinel_username=params.get("sentinel_username") or None,
        sentinel_password=params.get("sentinel_password") or None)


def same_master(url_a: str, url_b: str) -> bool:
    """Whether two URLs certainly reach the same keys through sentinels: both are
    ``redis+sentinel://`` with the same sentinels (in any order), master and db. A
    plain URL naming the master's current address is not: the master moves."""
    if not (is_sentinel_url(url_a) and is_sentinel_url(url_b)):
        return False
    return parse(url_a).identity() == parse(url_b).identity()


def kombu_form(url: str) -> tuple[str, dict[str, Any]]:
    """``(broker URL, transport options)`` for a Kombu connection to ``url``.

    A sentinel URL becomes Kombu's ``sentinel://:pw@h1:p1/db;sentinel://:pw@h2:p2/db``
    (each alternate carries the master's credentials and db, since Kombu reads them
    from whichever alternate it is on) with ``master_name`` (and the sentinels' own
    credentials as ``sentinel_kwargs``) in the options; any other URL is unchanged.
    """
    if not is_sentinel_url(url):
        return url, {}
    target = parse(url)
    userinfo = ""
    if target.password is not None or target.username is not None:
        userinfo = quote(target.username or "", safe="")
        if target.password is not None:
            userinfo += ":" + quote(target.password, safe="")
        userinfo += "@"
    alternates = ";".join(f"sentinel://{userinfo}{_netloc(host, port)}/{target.db}"
                          for host, port in target.sentinels)
    options: dict[str, Any] = {"master_name": target.master}
    credentials = target.sentinel_kwargs({})
    if credentials:
        options["sentinel_kwargs"] = credentials
    return alternates, options


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _FollowingConnection(SentinelManagedConnection):
    """A master connection that asks the sentinels where the master is at *every*
    (re)connection.

    redis-py's own asks only when the pool hands the connection out: a command whose
    connection drops is retried on the same connection, which reconnects to the
    address it had (``send_packed_command`` -> ``connect_check_health``), so a command
    in flight when the master dies keeps knocking at the dead address until all its
    retries are spent, a minute with nested connect retries (redis/redis-py#3874).
    Here each attempt of the command's retry asks again, and connecting is not
    retried on its own: the command's retry (with backoff) is the one loop.
    """

    def connect_check_health(self, check_health: bool = True,
                             retry_socket_connect: bool = True) -> None:
        if self._sock:
            return
        if self.connection_pool.is_master:
            self.host, self.port = self.connection_pool.get_master_address()
        super().connect_check_health(check_health=check_health, retry_socket_connect=False)


class _AsyncFollowingConnection(AsyncSentinelManagedConnection):
    """The ``redis.asyncio`` twin of :class:`_FollowingConnection`."""

    async def connect_check_health(self, check_health: bool = True,
                                   retry_socket_connect: bool = True) -> None:
        if self.is_connected:
            return
        if self.connection_pool.is_master:
            self.host, self.port = await self.connection_pool.get_master_address()
        await super().connect_check_health(check_health=check_health,
                                           retry_socket_connect=False)


def client(url: str, options: dict[str, Any]) -> Any:
    """A ``redis.Redis`` on the master ``url`` names, with ``options`` (timeouts, retry,
    client name) for its connections: every connection attempt asks the sentinels where
    the master is now, so a command's retries follow a failover, and a connection to a
    demoted master (``READONLY``) is dropped."""
    target = parse(url)
    sentinel = Sentinel(list(target.sentinels), sentinel_kwargs=target.sentinel_kwargs(options))
    return sentinel.master_for(target.master, redis_class=redis.Redis,
                               connection_class=_FollowingConnection,
                               **options, **target.master_kwargs())


def async_client(url: str, options: dict[str, Any]) -> Any:
    """The ``redis.asyncio`` twin of :func:`client`."""
    target = parse(url)
    sentinel = AsyncSentinel(list(target.sentinels),
                             sentinel_kwargs=target.sentinel_kwargs(options))
    return sentinel.master_for(target.master, redis_class=redis.asyncio.Redis,
                               connection_class=_AsyncFollowingConnection,
                               **options, **target.master_kwargs())
