"""The auctions' Lua scripts: each change to an auction is one atomic step in Redis.

Each script takes the same first keys and arguments, so that they share `emit` and `close`:
KEYS[1] the auction's hash, KEYS[2] its stream of updates; ARGV[1] its id, ARGV[2] its
pub/sub channel, ARGV[3] now (unix ms), ARGV[4] how many updates the stream keeps (about).

Every update takes the next seq (HINCRBY), goes into the stream under the id "<seq>-0" and
is published, as the same JSON, in the same step: a watcher that subscribed and then reads
the stream sees each update once, in order, with no gap it cannot detect.
"""

_COMMON = """
local now = tonumber(ARGV[3])
local FIELDS = {'ends_at_ms', 'highest_cents', 'bidder', 'seq', 'start_cents', 'closed'}

local function emit(kind, seq, amount, bidder, ends_at, trace)
  local update = cjson.encode({type = kind, auction = ARGV[1], seq = seq,
    amount_cents = amount, bidder = bidder, ends_at_ms = ends_at, ts = now, trace = trace})
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], seq .. '-0', 'update', update)
  redis.call('PUBLISH', ARGV[2], update)
end

-- Past its end an auction is closed: the first step to see it so says so once, with the
-- winner. Returns the auction's seq afterwards.
local function close(a)
  local ends_at, seq = tonumber(a[1]), tonumber(a[4])
  if a[6] == '1' or now < ends_at then return seq end
  seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
  redis.call('HSET', KEYS[1], 'closed', '1')
  emit('closed', seq, tonumber(a[2]), a[3], ends_at, '')
  return seq
end
"""

# Open (or reopen) an auction: no bid yet, ends at ARGV[7]. Its seq carries on from the
# highest it ever had (its hash's, or its stream's if the hash was lost), so a reset never
# sends a watcher's "since" back in time; an auction past its end says "closed" first.
# ARGV[8], unless '': an existing auction that ends after that time (unix ms) is kept as it
# is, so that two replicas starting at once open the demo's auctions once.
# KEYS[3]: the set of every auction's id. Returns the new seq, or -1 if the auction was kept.
OPEN = (
    _COMMON
    + """
local seq = 0
local a = redis.call('HMGET', KEYS[1], unpack(FIELDS))
if a[1] then
  if ARGV[8] ~= '' and tonumber(a[1]) > tonumber(ARGV[8]) then return -1 end
  seq = close(a)
end
local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)
if #last > 0 then seq = math.max(seq, tonumber(string.match(last[1][1], '^(%d+)'))) end
seq = seq + 1
redis.call('HSET', KEYS[1], 'title', ARGV[5], 'start_cents', ARGV[6], 'ends_at_ms', ARGV[7],
           'highest_cents', 0, 'bidder', '', 'closed', '0', 'seq', seq)
redis.call('SADD', KEYS[3], ARGV[1])
emit('opened', seq, 0, '', tonumber(ARGV[7]), '')
return seq
"""
)

# Place a bid: ARGV[5] bidder, ARGV[6] amount in cents, ARGV[7] trace id, ARGV[8] how long
# a request id's result is kept (ms); KEYS[3], if given, the request id's key.
# Returns {outcome, seq, highest_cents, bidder, ends_at_ms, start_cents}: outcome is 'accepted',
# 'replayed' (this request id was accepted before: its result), 'unknown', 'closed' (the
# winner and the winning amount) or 'too_low' (the current highest).
PLACE_BID = (
    _COMMON
    + """
if KEYS[3] then
  local prior = redis.call('GET', KEYS[3])
  if prior then
    local result = cjson.decode(prior)
    result[1] = 'replayed'
    return result
  end
end
local a = redis.call('HMGET', KEYS[1], unpack(FIELDS))
if not a[1] then return {'unknown', 0, 0, '', 0, 0} end
local ends_at, highest, start = tonumber(a[1]), tonumber(a[2]), tonumber(a[5])
if now >= ends_at then return {'closed', close(a), highest, a[3], ends_at, start} end
local amount = tonumber(ARGV[6])
if amount <= highest or amount < start then
  return {'too_low', tonumber(a[4]), highest, a[3], ends_at, start}
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'highest_cents', ARGV[6], 'bidder', ARGV[5])
emit('bid', seq, amount, ARGV[5], ends_at, ARGV[7])
local result = {'accepted', seq, amount, ARGV[5], ends_at, start}
if KEYS[3] then redis.call('SET', KEYS[3], cjson.encode(result), 'PX', ARGV[8]) end
return result
"""
)

# Close the auction if it is past its end and not closed yet (idempotent: the "closed"
# update is sent once, whoever runs it and however often). Returns 1 if this call closed it.
CLOSE = (
    _COMMON
    + """
local a = redis.call('HMGET', KEYS[1], unpack(FIELDS))
if not a[1] then return 0 end
local before = tonumber(a[4])
return close(a) > before and 1 or 0
"""
)
