"""Bids from two OS processes at once: Redis's one Lua step alone orders them, so nothing is
lost, doubled or published out of step with the stream."""

import json
import subprocess
import sys

import redis

from archviz.gateway import keys as gateway_keys
from archviz.gateway.auction import open_auction, read_auction
from tests.harness.processes import ROOT
from tests.harness.wait_for import wait_for

NOW = 1_700_000_000_000
BIDS_EACH = 300  # both together stay under the stream's cap, so every update is kept
GO = "test:concurrent-bids:go"

# Each process waits for the go, then bids BIDS_EACH times as fast as it can, each time a
# cent or two over the highest it last heard of: the two keep bidding the same amounts, and
# only one of each pair can win. It prints the bids Redis accepted as JSON.
BIDDER = f"""
import json, random, sys
import redis
from archviz.gateway.auction import place_bid

url, bidder = sys.argv[1], sys.argv[2]
client = redis.Redis.from_url(url, socket_timeout=None)
client.blpop({GO!r}, timeout=30)
accepted, highest = [], 5_000
for i in range({BIDS_EACH}):
    result = place_bid(client, "lamp", bidder, highest + random.choice((1, 1, 2)), {NOW})
    assert result.outcome in ("accepted", "too_low"), result
    if result.outcome == "accepted":
        accepted.append([result.seq, result.highest_cents, bidder])
    highest = result.highest_cents
print(json.dumps(accepted))
"""


def _start_bidder(redis_url: str, bidder: str) -> subprocess.Popen:
    args = [sys.executable, "-c", BIDDER, redis_url, bidder]
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _accepted(process: subprocess.Popen) -> list[tuple[int, int, str]]:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err.decode()
    return [tuple(bid) for bid in json.loads(out)]


def _waiting(client: redis.Redis) -> int:
    """How many clients are blocked waiting for the go."""
    return sum(1 for c in client.client_list() if c.get("cmd") == "blpop")


def _published(pubsub: redis.client.PubSub, count: int) -> list[dict]:
    """The next `count` updates published on the auction's channel, in the order sent."""
    received: list[dict] = []

    def read() -> bool:
        message = pubsub.get_message(timeout=0.1)
        if message is not None and message["type"] == "message":
            received.append(json.loads(message["data"]))
        return len(received) >= count

    wait_for(read, f"{count} published updates", 30, interval=0)
    return received


def test_bids_from_two_processes_are_ordered_kept_and_published_once(
    redis_client: redis.Redis, redis_url: str
) -> None:
    """The highest is the highest accepted; seqs run 1, 2, 3... with no gap and no double;
    the stream holds exactly the accepted bids; what was published is the stream."""
    open_seq = open_auction(redis_client, "lamp", "Desk lamp", 4_000, NOW + 600_000, NOW)
    pubsub = redis_client.pubsub()
    pubsub.subscribe(gateway_keys.auction_channel("lamp"))
    assert pubsub.get_message(timeout=5)["type"] == "subscribe"

    processes = [_start_bidder(redis_url, "p-1"), _start_bidder(redis_url, "p-2")]
    try:
        wait_for(lambda: _waiting(redis_client) == 2, "both bidders waiting for the go", 30)
        redis_client.rpush(GO, "go", "go")
        accepted = sorted(_accepted(processes[0]) + _accepted(processes[1]))
    finally:
        for process in processes:
            process.kill()
            process.wait()

    final = read_auction(redis_client, "lamp")
    seqs = [seq for seq, _amount, _bidder in accepted]
    assert final.highest_cents == max(amount for _seq, amount, _bidder in accepted)
    assert seqs == list(range(open_seq + 1, final.seq + 1))  # contiguous, no duplicates
    amounts = [amount for _seq, amount, _bidder in accepted]
    assert amounts == sorted(set(amounts))  # each accepted bid higher than the one before
    assert {bidder for _seq, _amount, bidder in accepted} == {"p-1", "p-2"}
    assert len(accepted) < 2 * BIDS_EACH  # they did bid against each other

    entries = redis_client.xrange(gateway_keys.auction_updates("lamp"))
    kept = [json.loads(fields[b"update"]) for _id, fields in entries]
    assert [entry_id for entry_id, _fields in entries][1:] == [f"{s}-0".encode() for s in seqs]
    assert [(u["seq"], u["amount_cents"], u["bidder"]) for u in kept[1:]] == accepted
    assert _published(pubsub, len(accepted)) == kept[1:]
    pubsub.close()
