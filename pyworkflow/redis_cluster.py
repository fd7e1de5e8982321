"""Redis Cluster: telling a cluster node from a plain server, and the client for one.

``PYWORKFLOW_REDIS_URL`` may name any node of a cluster; nothing else says so. The
first connection asks the server (``INFO cluster``) and, on a cluster node, the
project uses redis-py's ``RedisCluster`` instead, which routes each command (and
each script, by its keys' hash tag) to the master that holds the slot. A server
that refuses ``INFO`` (a restricted managed Redis) is taken as a plain one.

Every script of the project touches keys of one hash tag, so of one slot; pipelines
that span slots are never transactions (``ClusterPipeline`` splits them by node).
"""

from __future__ import annotations

from typing import Any

import redis
from redis.cluster import RedisCluster


def is_cluster_node(client: redis.Redis) -> bool:
    """Whether ``client``'s server runs in cluster mode (False if it cannot say)."""
    try:
        info = client.info("cluster")
    except redis.RedisError:
        return False
    return bool(info.get("cluster_enabled"))


def cluster_client(url: str, options: dict[str, Any]) -> Any:
    """A ``RedisCluster`` for the cluster that ``url``'s node belongs to, with the same
    timeouts and retries as a plain client (typed as ``redis.Redis`` by callers: the
    commands the project uses are the same)."""
    options = dict(options)
    options.pop("health_check_interval", None)  # per connection; the cluster checks nodes
    return RedisCluster.from_url(url, **options)
