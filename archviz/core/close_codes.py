"""WebSocket close codes archviz sends, documented in one place.

Daphne cannot send 1013 or a close reason, so archviz uses the private range 4000-4999.
Mirrored in static/archviz/js/lib/protocol.js so the page can explain each one.
Frames over the size limit are refused by daphne itself with the standard 1009.
"""

MESSAGE_TOO_BIG = 1009  # sent by daphne: a frame over 64 KiB
FORBIDDEN_ORIGIN = 4003  # the page's origin is not one of ALLOWED_HOSTS
LOGIN_REQUIRED = 4001  # ARCHVIZ_REQUIRE_LOGIN is on and the user is anonymous
TOO_SLOW = 4008  # the client could not keep up with its outgoing queue
FLOODING = 4029  # more messages per second than allowed (lab socket, chat, a node's /ws/hold/)
OVERLOADED = 4013  # refused at the handshake: a node over its reject threshold or ws_limit
SHED = 4014  # a node over its shed threshold closed this open socket to relieve itself
BAD_ROOM = 4004  # chat: the room name is empty, too long or has other characters
ROOMS_FULL = 4009  # chat: the room is new and there are as many rooms as allowed
TOKEN_EXPIRED = 4010  # gateway: the socket's token expired while it was open
TOKEN_REVOKED = 4011  # gateway: the token was revoked, every token expired, or its key retired
TOKEN_REFUSED = 4012  # gateway: no valid token in time (first message), or its scopes fall short

DESCRIPTIONS = {
    MESSAGE_TOO_BIG: "message too big (over 64 KiB)",
    FORBIDDEN_ORIGIN: "origin not allowed",
    LOGIN_REQUIRED: "login required",
    TOO_SLOW: "client too slow: its outgoing queue overflowed",
    FLOODING: "too many messages per second",
    OVERLOADED: "server overloaded: try again later",
    SHED: "shed to relieve an overloaded server: reconnect after the hint",
    BAD_ROOM: "bad room name: 1-40 letters, digits, - or _",
    ROOMS_FULL: "too many chat rooms: join one that exists",
    TOKEN_EXPIRED: "your token expired: get a new one",
    TOKEN_REVOKED: "your token was revoked by an instructor",
    TOKEN_REFUSED: "no valid token in time: send it first",
}
