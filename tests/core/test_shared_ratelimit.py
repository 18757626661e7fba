"""Token buckets in Redis, shared by every process: all-or-none takes, refill, expiry."""

import redis

from archviz.core.ratelimit import Limit, Refusal, level_shared, take_and_level, take_shared

USER = Limit("archviz:test:bucket:user", rate=10, burst=20)
ALL = Limit("archviz:test:bucket:all", rate=100, burst=30)


def test_a_burst_is_taken_then_refused_with_the_wait(redis_client: redis.Redis):
    """20 tokens pass at one instant; the 21st is refused, naming the bucket and the wait."""
    assert take_shared(redis_client, [USER], 20, now_ms=1_000) is None
    refusal = take_shared(redis_client, [USER], 1, now_ms=1_000)
    assert refusal is not None and refusal.limit == USER
    assert refusal.retry_after_s == 0.1


def test_tokens_refill_at_the_rate_up_to_the_burst(redis_client: redis.Redis):
    """10 a second come back, never more than the burst."""
    take_shared(redis_client, [USER], 20, now_ms=0)
    assert take_shared(redis_client, [USER], 6, now_ms=500) is not None  # 5 back
    assert take_shared(redis_client, [USER], 5, now_ms=500) is None
    assert take_shared(redis_client, [USER], 20, now_ms=60_000) is None  # full, not 595
    assert take_shared(redis_client, [USER], 1, now_ms=60_000) is not None


def test_a_take_is_all_or_none(redis_client: redis.Redis):
    """When the shared bucket is short, the user's own bucket is not charged either."""
    other = Limit("archviz:test:bucket:other", rate=10, burst=20)
    assert take_shared(redis_client, [USER, ALL], 15, now_ms=0) is None  # ALL: 15 left
    refusal = take_shared(redis_client, [other, ALL], 16, now_ms=0)
    assert refusal is not None and refusal.limit == ALL
    assert take_shared(redis_client, [other], 20, now_ms=0) is None  # still full


def test_buckets_use_redis_time_and_expire(redis_client: redis.Redis):
    """Without a given time Redis's clock is used; a bucket's key expires once it is full."""
    assert take_shared(redis_client, [USER], 1) is None
    assert 0 < redis_client.pttl(USER.key) <= 2_000 + 1_000


def test_a_bucket_level_is_read_without_taking(redis_client: redis.Redis):
    """level_shared says what is left, refilled to now, and takes nothing."""
    assert level_shared(redis_client, USER, now_ms=0) == 20  # no bucket yet: full
    take_shared(redis_client, [USER], 15, now_ms=0)
    assert level_shared(redis_client, USER, now_ms=0) == 5
    assert level_shared(redis_client, USER, now_ms=250) == 7.5
    assert level_shared(redis_client, USER, now_ms=60_000) == 20
    assert take_shared(redis_client, [USER], 7, now_ms=250) is None  # the reads took nothing


def test_a_bucket_level_uses_redis_time_by_default(redis_client: redis.Redis):
    """Without a given time the level is refilled to Redis's clock, as takes are."""
    take_shared(redis_client, [USER], 20)
    assert 0 <= level_shared(redis_client, USER) < 5  # 10 a second: under half a second later


def test_a_take_answers_each_buckets_level_after_it(redis_client: redis.Redis):
    """One round trip: the levels level_shared would read right after."""
    assert take_and_level(redis_client, [USER, ALL], 5, now_ms=0) == [15, 25]
    assert take_and_level(redis_client, [USER], 1, now_ms=250) == [16.5]
    assert level_shared(redis_client, USER, now_ms=250) == 16.5
    refused = take_and_level(redis_client, [USER, ALL], 26, now_ms=250)
    assert isinstance(refused, Refusal) and refused.limit == USER
    assert take_and_level(redis_client, [ALL], 1, now_ms=250) == [29]  # refilled to 30
