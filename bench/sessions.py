"""What a Redis-backed session costs against an in-process one, in the same run.

Django's cache SessionStore as the cart's nodes use it (archviz.sessions.stores): a read of
an existing session and a write of a changed cart, N times each, on the per-process
LocMemCache (the baseline) and on Django's RedisCache over the embedded redis-server.
Prints p50/p99 per operation and the Redis/memory ratios. No target: this is the price
the sessions page's third mode explains ("one network round trip per read and write"; a
write of an existing session is two: Django's cache store checks it exists, then sets it).
"""

import os
import time

from bench.common import percentile, report

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archviz.settings")
ROUNDS = 3000


def _measure(store: str) -> dict[str, list[float]]:
    from archviz.sessions.stores import read_cart, write_cart

    first = read_cart(store, None)
    write_cart(first.session, {"apple": 1})
    key = first.session.session_key
    reads, writes = [], []
    for i in range(ROUNDS):
        started = time.perf_counter()
        read = read_cart(store, key)
        reads.append((time.perf_counter() - started) * 1000)
        assert read.session.found, "the session must be found every time"
        started = time.perf_counter()
        write_cart(read.session, {"apple": 1 + i % 50})
        writes.append((time.perf_counter() - started) * 1000)
    return {"read": reads, "write": writes}


def main() -> None:
    import django
    from django.conf import settings

    from archviz.lab.embedded_redis import EmbeddedRedis

    django.setup()
    server = EmbeddedRedis().start()
    try:
        settings.ARCHVIZ_REDIS_URL = server.url
        for store in ("memory", "redis"):  # warm up: connections, caches, code paths
            _measure(store)
        runs = {"memory": _measure("memory"), "redis": _measure("redis")}
    finally:
        server.stop()
    summary: dict = {"rounds": ROUNDS}
    for op in ("read", "write"):
        for q in (50, 99):
            memory = percentile(runs["memory"][op], q)
            redis = percentile(runs["redis"][op], q)
            summary[f"{op}_p{q}_ms"] = {"memory": round(memory, 4), "redis": round(redis, 4)}
            summary[f"{op}_p{q}_ratio"] = round(redis / memory, 1)
            ratio = redis / memory
            print(f"{op:5} p{q}: memory {memory:.4f} ms, redis {redis:.4f} ms, {ratio:.1f}x")
    report("sessions", summary)


if __name__ == "__main__":
    main()
