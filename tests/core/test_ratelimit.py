"""TokenBucket: per-connection flood control with explicit times."""

from archviz.core.ratelimit import KeyedBuckets, TokenBucket


def test_burst_is_allowed_then_refused():
    """A full bucket allows `burst` takes at one instant, then refuses."""
    bucket = TokenBucket(rate=1.0, burst=3)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]


def test_tokens_refill_at_rate_over_time():
    """After emptying, one token returns per 1/rate seconds."""
    bucket = TokenBucket(rate=2.0, burst=2)
    assert bucket.take(0.0) and bucket.take(0.0)
    assert bucket.take(0.25) is False  # half a token
    assert bucket.take(0.5) is True  # 0.5 + 0.5 = 1 token
    assert bucket.take(0.5) is False


def test_refill_is_capped_at_burst():
    """A long idle period refills no more than `burst` tokens."""
    bucket = TokenBucket(rate=10.0, burst=2)
    bucket.take(0.0)
    assert [bucket.take(1000.0) for _ in range(3)] == [True, True, False]


def test_keyed_buckets_keep_each_key_apart_and_forget_the_oldest_past_the_cap():
    buckets = KeyedBuckets(rate=0.0, burst=1, max_keys=2)
    assert buckets.take("a", 0.0) and not buckets.take("a", 0.0)
    assert buckets.take("b", 0.0)
    assert buckets.take("c", 0.0) and len(buckets) == 2  # "a" forgotten: the oldest
    assert buckets.take("a", 0.0)  # a forgotten key starts full again
