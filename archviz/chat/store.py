"""The rooms in Redis: sequence numbers, capped history, presence and the ledger.

Every function takes an asyncio Redis client with a short timeout (these are short
commands, not blocking reads); the Lua scripts make each step one atomic round trip.
"""

import json

import redis.asyncio

from archviz.chat import keys as chat_keys
from archviz.chat.messages import Member, PresenceEvent, RoomMessage
from archviz.chat.rooms import PRESENCE_TTL_MS, RECENT_ON_JOIN, ROOM_IDLE_MS, ROOMS_MAX
from archviz.core.redis_conn import COMMAND_TIMEOUT_S, CONNECT_TIMEOUT_S, redis_url

POOL_SIZE, POOL_WAIT_S = 32, 5.0
HISTORY_MAX = 1_000  # messages kept per room (approximately: Redis trims whole nodes)
PRESENCE_LOG_MAX = 40
LEDGER_FIELDS = ("sent", "delivered", "recovered", "lost", "duplicates", "missed_local",
                 "too_slow", "flooded", "refused", "untraced")  # fmt: skip

# INCR the room's sequence, XADD the message with id <seq>-1, count it as sent, note the
# time (ARGV[6]) as the room's last message and activity, in Redis mode PUBLISH it on the
# room's channel (ARGV[4]: the channel layer's JSON event up to its number), and return the
# sequence number with the number of connections in the room. One script: Redis runs it
# alone, so the channel carries the room in order.
_APPEND = """
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'm', ARGV[3])
redis.call('HINCRBY', KEYS[3], 'sent', 1)
redis.call('SADD', KEYS[5], ARGV[1])
redis.call('ZADD', KEYS[6], ARGV[6], ARGV[1])
redis.call('ZADD', KEYS[7], ARGV[6], ARGV[1])
if ARGV[5] ~= '' then
  redis.call('PUBLISH', ARGV[5], ARGV[4] .. seq .. '}')
end
return {seq, redis.call('HLEN', KEYS[4])}
"""

# Add a connection to a room (ARGV: room, conn, info, now, the most rooms), creating the
# room unless there are as many as allowed already; return its members [conn, info, ...],
# or false when the room would be one too many. Atomic, so two nodes cannot both create
# the last room allowed.
_JOIN = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0
    and redis.call('SCARD', KEYS[1]) >= tonumber(ARGV[5]) then
  return false
end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[4], ARGV[1])
return redis.call('HGETALL', KEYS[2])
"""

# Remove every connection whose last heartbeat is older than the cutoff (ARGV[1]); return
# [conn, last_seen, info, ...]. Atomic, so one node (not all) announces each one. Then, if
# the room (ARGV[4]) has no member and no activity since ARGV[3], remove it and its keys.
_REAP = """
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES')
local out = {}
for i = 1, #gone, 2 do
  redis.call('ZREM', KEYS[1], gone[i])
  local info = redis.call('HGET', KEYS[2], gone[i])
  redis.call('HDEL', KEYS[2], gone[i])
  table.insert(out, gone[i]); table.insert(out, gone[i + 1]); table.insert(out, info or '')
end
if redis.call('HLEN', KEYS[2]) == 0 then
  local active = redis.call('ZSCORE', KEYS[4], ARGV[4])
  if not active then  -- a room from before activity was kept: its idle time starts now
    redis.call('ZADD', KEYS[4], ARGV[2], ARGV[4])
  elseif tonumber(active) <= tonumber(ARGV[3]) then
    redis.call('SREM', KEYS[3], ARGV[4])
    redis.call('ZREM', KEYS[4], ARGV[4])
    redis.call('ZREM', KEYS[5], ARGV[4])
    redis.call('DEL', KEYS[1], KEYS[2], KEYS[6], KEYS[7], KEYS[8])
  end
end
return out
"""


def command_client() -> redis.asyncio.Redis:
    """A node's client for short commands. Hundreds of connections may ask at once (a
    reconnect storm): they queue for a bounded pool instead of failing past 100."""
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        redis_url(), max_connections=POOL_SIZE, timeout=POOL_WAIT_S,
        socket_timeout=COMMAND_TIMEOUT_S, socket_connect_timeout=CONNECT_TIMEOUT_S,
    )  # fmt: skip
    return redis.asyncio.Redis(connection_pool=pool)


class RoomStore:
    def __init__(self, client: redis.asyncio.Redis) -> None:
        self.client = client
        self._append = client.register_script(_APPEND)
        self._join = client.register_script(_JOIN)
        self._reap = client.register_script(_REAP)

    async def append(self, room: str, message: RoomMessage,
                     publish: tuple[str, str] | None = None) -> tuple[int, int]:  # fmt: skip
        """Store a message and, given (channel, event head), publish it in the same step;
        returns its sequence number and the room's connection count."""
        keys_ = [chat_keys.seq(room), chat_keys.history(room), chat_keys.ledger(room),
                 chat_keys.members(room), chat_keys.ROOMS, chat_keys.ROOMS_LAST_MESSAGE,
                 chat_keys.ROOMS_ACTIVE]  # fmt: skip
        channel, head = publish or ("", "")
        args = [room, HISTORY_MAX, json.dumps(message), head, channel, message["ts"]]
        seq, members = await self._append(keys_, args)
        return int(seq), int(members)

    async def history(self, room: str, first: int, last: int) -> dict[int, dict]:
        """The stored messages with first <= seq <= last, by sequence number."""
        entries = await self.client.xrange(chat_keys.history(room), f"{first}-1", f"{last}-1")
        return dict(_decode(entry) for entry in entries)

    async def recent(self, room: str, count: int = RECENT_ON_JOIN) -> list[dict]:
        entries = await self.client.xrevrange(chat_keys.history(room), count=count)
        return [msg for _seq, msg in reversed([_decode(e) for e in entries])]

    async def bounds(self, room: str) -> tuple[int, int | None]:
        """The room's last sequence number and the oldest one its history still holds."""
        pipe = self.client.pipeline(transaction=False)
        pipe.get(chat_keys.seq(room))
        pipe.xrange(chat_keys.history(room), count=1)
        last, first = await pipe.execute()
        return int(last or 0), (_decode(first[0])[0] if first else None)

    async def join(
        self, room: str, conn: str, info: Member, now_ms: float
    ) -> dict[str, Member] | None:
        """Add a connection to the room; returns every member (this one included), or None
        when the room is new and there are ROOMS_MAX rooms already."""
        keys_ = [chat_keys.ROOMS, chat_keys.members(room), chat_keys.seen(room),
                 chat_keys.ROOMS_ACTIVE]  # fmt: skip
        found = await self._join(keys_, [room, conn, json.dumps(info), now_ms, ROOMS_MAX])
        if found is None:
            return None
        return {found[i].decode(): json.loads(found[i + 1]) for i in range(0, len(found), 2)}

    async def leave(self, room: str, conn: str) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.hdel(chat_keys.members(room), conn)
        pipe.zrem(chat_keys.seen(room), conn)
        await pipe.execute()

    async def beat(self, rooms: dict[str, dict[str, dict]], now_ms: float,
                   ledger: dict[str, dict[str, int]]) -> dict[str, list[str]]:  # fmt: skip
        """Refresh this node's connections (rooms: room -> conn -> info) and add its
        ledger counts, in one round trip. Returns, by room, the connections that had been
        expired meanwhile (this node was too busy to beat in time): they are back."""
        pipe = self.client.pipeline(transaction=False)
        asked = []
        for room, conns in rooms.items():
            if conns:
                asked.append((room, list(conns)))
                pipe.zmscore(chat_keys.seen(room), list(conns))
                pipe.zadd(chat_keys.seen(room), dict.fromkeys(conns, now_ms))
                pipe.hset(chat_keys.members(room),
                          mapping={c: json.dumps(i) for c, i in conns.items()})  # fmt: skip
        for room, counts in ledger.items():
            for name, value in counts.items():
                if value:
                    pipe.hincrby(chat_keys.ledger(room), name, value)
        if asked:  # a room with members is active (and listed, even after a missed reap)
            pipe.zadd(chat_keys.ROOMS_ACTIVE, {room: now_ms for room, _ in asked})
            pipe.sadd(chat_keys.ROOMS, *(room for room, _ in asked))
        replies = await pipe.execute() if len(pipe) else []
        back = {}
        for i, (room, conns) in enumerate(asked):
            missing = [c for c, score in zip(conns, replies[3 * i], strict=True) if score is None]
            if missing:
                back[room] = missing
        return back

    async def reap(
        self, now_ms: float, ttl_ms: float = PRESENCE_TTL_MS, idle_ms: float = ROOM_IDLE_MS
    ) -> list[dict]:
        """Expire silent connections in every room, and rooms idle for `idle_ms` with their
        history, in one round trip; returns the connections removed."""
        rooms = [raw.decode() for raw in await self.client.smembers(chat_keys.ROOMS)]
        if not rooms:
            return []
        pipe = self.client.pipeline(transaction=False)
        for room in rooms:
            keys_ = [chat_keys.seen(room), chat_keys.members(room), chat_keys.ROOMS,
                     chat_keys.ROOMS_ACTIVE, chat_keys.ROOMS_LAST_MESSAGE, chat_keys.seq(room),
                     chat_keys.history(room), chat_keys.ledger(room)]  # fmt: skip
            await self._reap(keys_, [now_ms - ttl_ms, now_ms, now_ms - idle_ms, room], client=pipe)
        gone = []
        for room, found in zip(rooms, await pipe.execute(), strict=True):
            for i in range(0, len(found), 3):
                info = json.loads(found[i + 2]) if found[i + 2] else {}
                gone.append({"room": room, "conn": found[i].decode(),
                             "last_seen": float(found[i + 1]), **info})  # fmt: skip
        return gone

    async def nodes_of(self, room: str, user: str) -> list[str]:
        """The nodes where this user has a connection in the room now (sorted, once each)."""
        members = await self.client.hvals(chat_keys.members(room))
        return sorted({m["node"] for m in map(json.loads, members) if m.get("user") == user})

    async def log_presence(self, event: PresenceEvent) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.lpush(chat_keys.PRESENCE_LOG, json.dumps(event))
        pipe.ltrim(chat_keys.PRESENCE_LOG, 0, PRESENCE_LOG_MAX - 1)
        await pipe.execute()

    async def mode(self) -> str:
        raw = await self.client.get(chat_keys.MODE)
        return raw.decode() if raw in (b"local", b"redis") else "redis"


def _decode(entry: tuple[bytes, dict]) -> tuple[int, dict]:
    entry_id, fields = entry
    seq = int(entry_id.split(b"-")[0])
    return seq, json.loads(fields[b"m"]) | {"seq": seq}
