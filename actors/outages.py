"""Errors that say the infrastructure failed, not the message being handled.

A behaviour's handler may reach Redis (a port, a hook store). When Redis is
restarting, a cluster is down or a failover is under way, the call raises, and the
message that was being handled is not to blame: dead-lettering it (what any other
exception from a handler does) would lose a run's progress for good. So a batch whose
handler raised one of these is given back uncommitted and the turn fails; the actor
is taken over once its lease runs out and handles the same messages again.

Some of these are ``ResponseError``s in redis-py's hierarchy (a cluster's CLUSTERDOWN
and TRYAGAIN, a replica's READONLY after a failover, LOADING, MASTERDOWN): they are
named one by one, since most ``ResponseError``s (a wrong type, a script error) are
not outages.
"""

from __future__ import annotations

from redis import exceptions as _redis

OUTAGES: tuple[type[BaseException], ...] = (
    _redis.ConnectionError,
    _redis.TimeoutError,
    _redis.BusyLoadingError,
    _redis.ClusterDownError,
    _redis.ClusterError,
    _redis.TryAgainError,
    _redis.MasterDownError,
    _redis.ReadOnlyError,
    OSError,
)
