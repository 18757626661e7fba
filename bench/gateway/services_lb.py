"""The archviz balancer's listener code (archviz/balancer/frontend.py) over the catalog
replicas, for the benchmark's "through the LB" leg: the product has no services listener
yet, so this runs one Frontend with a PoolSpec of kind "catalog", as the balancer runs its
two (same proxy, health checks, registry refresh, trace events, uvloop).

    python -m bench.gateway.services_lb --port PORT
"""

import argparse
import asyncio
import signal

import aiohttp
import django

django.setup()

from archviz.balancer.app import CONNECTION_LIMIT, run  # noqa: E402
from archviz.balancer.frontend import Frontend, PoolSpec  # noqa: E402
from archviz.core.redis_conn import shared_client, sync_client  # noqa: E402
from archviz.trace.emitter import Emitter  # noqa: E402

SERVICES = PoolSpec(
    name="services",
    kind="catalog",
    health_path="/catalog/health",
    demo="gateway",
    setting="--port",
    algorithm_key="archviz:bench:services-algorithm",
    weighted=False,
    login_gate=False,
    open_reads=False,  # the catalog answers CORS itself, as under the product's listener
)


async def serve(host: str, port: int) -> None:
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    client = shared_client()
    trace = Emitter("lb-services", client_factory=sync_client).start()
    frontend = Frontend(SERVICES, source="lb-services", emitter=trace, algorithm="round_robin")
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=CONNECTION_LIMIT),
        timeout=aiohttp.ClientTimeout(total=10),
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        skip_auto_headers=("User-Agent", "Accept-Encoding"),
    )
    async with session:
        frontend.start(session)
        await frontend.refresh_once(client)
        await frontend.listen(host, port)
        tasks = frontend.tasks(client, session)
        await stop.wait()
        for task in tasks:
            task.cancel()
        await frontend.close(1.0)
    trace.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
