"""What the supervisor writes in Redis: its records of the children, their live config, and
the lab's info (blocking calls: the supervisor runs them off its loop)."""

import json
import os
from collections.abc import Iterable

from archviz.core import keys, registry
from archviz.core.redis_conn import shared_client
from archviz.lab.child import Child


class Records:
    """Publishes the supervisor's view; wakes the dashboards when it changed."""

    def __init__(self) -> None:
        self._published: dict[str, str] = {}

    def clear_stale(self) -> None:
        shared_client().delete(keys.PROCESSES)

    def publish(self, children: Iterable[Child], info: dict[str, int]) -> None:
        """Rewrite the records (Redis may have restarted empty) and the lab's `info`."""
        children = list(children)
        records = {c.id: json.dumps(c.record.to_dict()) for c in children}
        pipe = shared_client().pipeline(transaction=True)
        pipe.delete(keys.PROCESSES)
        if records:
            pipe.hset(keys.PROCESSES, mapping=records)
        for child in children:
            if child.spec is not None and (params := child.spec.runtime_params()):
                pipe.hset(keys.node_config(child.id), mapping=params)  # none: hset refuses {}
        pipe.delete(keys.LAB_INFO)  # a pid, counts: never a Redis URL (it can hold the password)
        pipe.hset(keys.LAB_INFO, mapping={"supervisor_pid": os.getpid(), **info})
        pipe.pexpire(keys.LAB_INFO, registry.TTL_MS)
        if records != self._published:
            pipe.publish(keys.HEARTBEAT_CHANNEL, "supervisor")
        pipe.execute()
        self._published = records


def write_config(child: Child) -> None:
    if params := child.spec.runtime_params():
        shared_client().hset(keys.node_config(child.id), mapping=params)


def forget(child_id: str) -> None:
    shared_client().delete(keys.node_config(child_id), keys.ping_count(child_id))
