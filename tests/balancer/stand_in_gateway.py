"""A small real server that answers as a gateway replica would at the balancer's edge, run as
its own OS process so that a test can SIGKILL it:

    python -m tests.balancer.stand_in_gateway --id gateway-1 --port 8201

- GET /gateway/health (and a node's /health): 200 JSON, naming the replica;
- /ws/auctions/<id>/: a WebSocket that accepts the subprotocol "bearer" (as the gateway does
  with `Sec-WebSocket-Protocol: bearer, <token>`), first says which subprotocols it was
  offered, then echoes every text message;
- OPTIONS anywhere: 204 with no body and no length, as the gateway answers a CORS preflight;
- anything else: JSON naming the replica, the method, the path and the headers it got.

The test registers it (as the supervisor's child) from its own process.
"""

import argparse

from aiohttp import web

REPLICA = web.AppKey("replica", str)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "replica": request.app[REPLICA]})


async def auction_socket(request: web.Request) -> web.WebSocketResponse:
    socket = web.WebSocketResponse(protocols=("bearer",))
    await socket.prepare(request)
    offered = request.headers.get("Sec-WebSocket-Protocol", "")
    await socket.send_json(
        {
            "replica": request.app[REPLICA],
            "auction": request.match_info["auction_id"],
            "offered": [p.strip() for p in offered.split(",") if p.strip()],
        }
    )
    async for message in socket:
        if message.type == web.WSMsgType.TEXT:
            await socket.send_str(message.data)
    return socket


async def anything(request: web.Request) -> web.Response:
    body = {"replica": request.app[REPLICA], "method": request.method, "path": request.path,
            "headers": dict(request.headers)}  # fmt: skip
    return web.json_response(body)


async def preflight(request: web.Request) -> web.Response:
    return web.Response(status=204, headers={"Access-Control-Allow-Methods": "POST"})


def make_app(replica: str) -> web.Application:
    app = web.Application()
    app[REPLICA] = replica
    app.router.add_get("/gateway/health", health)
    app.router.add_get("/health", health)
    app.router.add_get("/ws/auctions/{auction_id}/", auction_socket)
    app.router.add_route("OPTIONS", "/{tail:.*}", preflight)
    app.router.add_route("*", "/{tail:.*}", anything)
    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--id", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    web.run_app(make_app(args.id), host=args.host, port=args.port, print=None, access_log=None)


if __name__ == "__main__":
    main()
