"""The rooms in Redis: sequence numbers, capped history, presence and the ledger.

Every function takes an asyncio Redis client with a short timeout (these are short
commands, not blocking reads); the Lua scripts make each step one atomic round trip.
"""

import json

import redis.asyncio

from archviz.chat import keys as chat_keys
from archviz.chat.messages import Member, PresenceEvent, RoomMessage
from archviz.chat.rooms import PRESENCE_TTL_MS, RECENT_ON_JOIN
from archviz.core.redis_conn import COMMAND_TIMEOUT_S, CONNECT_TIMEOUT_S, redis_url

POOL_SIZE, POOL_WAIT_S = 32, 5.0
HISTORY_MAX = 1_000  # messages kept per room (approximately: Redis trims whole nodes)
PRESENCE_LOG_MAX = 40
LEDGER_FIELDS = ("sent", "delivered", "recovered", "lost", "duplicates", "missed_local",
                 "too_slow", "flooded", "refused", "untraced")  # fmt: skip

# INCR the room's sequence, XADD the message with id <seq>-1, count it as sent, in Redis
# mode PUBLISH it on the room's channel (ARGV[4]: the channel layer's JSON event up to
# its number), and return the sequence number with the number of connections in the
# room. One script: Redis runs it alone, so the channel carries the room in order.
_APPEND = """
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], seq .. '-1', 'm', ARGV[3])
redis.call('HINCRBY', KEYS[3], 'sent', 1)
redis.call('SADD', KEYS[5], ARGV[1])
if ARGV[5] ~= '' then
  redis.call('PUBLISH', ARGV[5], ARGV[4] .. seq .. '}')
end
return {seq, redis.call('HLEN', KEYS[4])}
"""

# Remove every connection whose last heartbeat is older than the cutoff; return
# [conn, last_seen, info, ...]. Atomic, so one node (not all) announces each one.
_REAP = """
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES')
local out = {}
for i = 1, #gone, 2 do
  redis.call('ZREM', KEYS[1], gone[i])
  local info = redis.call('HGET', KEYS[2], gone[i])
  redis.call('HDEL', KEYS[2], gone[i])
  table.insert(out, gone[i]); table.insert(out, gone[i + 1]); table.insert(out, info or '')
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
        self._reap = client.register_script(_REAP)

    async def append(self, room: str, message: RoomMessage,
                     publish: tuple[str, str] | None = None) -> tuple[int, int]:  # fmt: skip
        """Store a message and, given (channel, event head), publish it in the same step;
        returns its sequence number and the room's connection count."""
        keys_ = [chat_keys.seq(room), chat_keys.history(room), chat_keys.ledger(room),
                 chat_keys.members(room), chat_keys.ROOMS]  # fmt: skip
        channel, head = publish or ("", "")
        args = [room, HISTORY_MAX, json.dumps(message), head, channel]
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

    async def join(self, room: str, conn: str, info: Member, now_ms: float) -> dict[str, Member]:
        """Add a connection to the room; returns every member (this one included)."""
        pipe = self.client.pipeline(transaction=False)
        pipe.hset(chat_keys.members(room), conn, json.dumps(info))
        pipe.zadd(chat_keys.seen(room), {conn: now_ms})
        pipe.sadd(chat_keys.ROOMS, room)
        pipe.hgetall(chat_keys.members(room))
        *_, members = await pipe.execute()
        return {k.decode(): json.loads(v) for k, v in members.items()}

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
        replies = await pipe.execute() if len(pipe) else []
        back = {}
        for i, (room, conns) in enumerate(asked):
            missing = [c for c, score in zip(conns, replies[3 * i], strict=True) if score is None]
            if missing:
                back[room] = missing
        return back

    async def reap(self, now_ms: float, ttl_ms: float = PRESENCE_TTL_MS) -> list[dict]:
        """Expire silent connections in every room; returns what was removed."""
        gone = []
        for raw in await self.client.smembers(chat_keys.ROOMS):
            room = raw.decode()
            found = await self._reap([chat_keys.seen(room), chat_keys.members(room)],
                                     [now_ms - ttl_ms])  # fmt: skip
            for i in range(0, len(found), 3):
                info = json.loads(found[i + 2]) if found[i + 2] else {}
                gone.append({"room": room, "conn": found[i].decode(),
                             "last_seen": float(found[i + 1]), **info})  # fmt: skip
        return gone

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
