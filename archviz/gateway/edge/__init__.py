"""A gateway replica, `manage.py gateway --id gateway-1 --port N` (issue 11).

Every request goes through the same stages, each one a trace event with its time: route
match, authenticate, authorise (scopes per route), rate limit (a token bucket per consumer
in Redis, shared by every replica), dispatch (HTTP or gRPC to a service replica found in the
registry, within the route's deadline, retried once on another replica when that is safe),
response. A stage that refuses answers itself: the request never reaches a service.

HTTP is parsed by aiohttp.web, whose C parser is llhttp (Node.js's parser), the one that
httptools wraps for the load balancer: no HTTP is parsed by hand here. aiohttp also serves
the auction WebSockets, which each replica feeds from one Redis pub/sub connection.

    pipeline.py     the stages' decisions, pure
    credentials.py  the key ring this replica follows (signing_keys.KeyFollower), kept fresh
    upstreams.py    service replicas from the registry, skipped when they refuse, round robin
    dispatch.py     HTTP (one aiohttp ClientSession) and gRPC (a channel per replica)
    watchers.py     auction subscriptions with reference counts, resume by seq
    sockets.py      the auction WebSocket: authenticate, welcome, catch up, live updates
    state.py        a replica's parts, and how a request's stages are traced and answered
    metrics.py      what the heartbeat reports
    app.py          the aiohttp application and the request handler
"""
