"""Batcher: the emitter's bounded, batched buffer."""

from archviz.trace.batcher import Batcher
from archviz.trace.events import make_event


def _events(count: int) -> list:
    return [make_event("http.request", "client", f"n{i}") for i in range(count)]


def _filled(count: int, **options) -> tuple[Batcher, list]:
    batcher = Batcher(**options)
    events = _events(count)
    for event in events:
        assert batcher.add(event)
    return batcher, events


def test_take_returns_batches_of_at_most_batch_size_in_fifo_order():
    """Events come out oldest first, batch_size at a time, then the remainder."""
    batcher, events = _filled(7, batch_size=3)
    assert batcher.take() == events[0:3]
    assert batcher.take() == events[3:6]
    assert batcher.take() == events[6:7]
    assert batcher.take() == []
    assert len(batcher) == 0


def test_batch_ready_once_a_full_batch_waits():
    """batch_ready turns true exactly when batch_size events are buffered."""
    batcher, _ = _filled(2, batch_size=3)
    assert not batcher.batch_ready()
    batcher.add(_events(1)[0])
    assert batcher.batch_ready()


def test_add_to_a_full_buffer_is_refused_and_counted():
    """Beyond max_buffered, add returns False and dropped counts each refusal."""
    batcher, events = _filled(3, max_buffered=3)
    assert batcher.add(_events(1)[0]) is False
    assert batcher.add(_events(1)[0]) is False
    assert batcher.dropped == 2
    assert batcher.accepted == 3
    assert batcher.take() == events


def test_put_back_restores_the_batch_at_the_front():
    """An unpublished batch goes back ahead of newer events, in its own order."""
    batcher, events = _filled(5, batch_size=2)
    batch = batcher.take()
    batcher.put_back(batch)
    assert batcher.take() == events[0:2]
    assert batcher.take() == events[2:4]
    assert batcher.dropped == 0


def test_put_back_drops_and_counts_what_does_not_fit():
    """When newer events filled the buffer, put_back keeps only what fits, oldest first."""
    batcher, events = _filled(4, batch_size=3, max_buffered=4)
    batch = batcher.take()  # 3 out, 1 left
    newer = _events(2)
    for event in newer:
        assert batcher.add(event)  # now 3 buffered: room for 1
    batcher.put_back(batch)
    assert batcher.dropped == 2
    assert len(batcher) == 4
    assert batcher.take() + batcher.take() == [events[0], events[3], *newer]


def test_put_back_into_a_full_buffer_drops_the_whole_batch():
    """No room at all: the whole batch is counted as dropped."""
    batcher, _ = _filled(2, batch_size=2, max_buffered=2)
    batch = batcher.take()
    for event in _events(2):
        batcher.add(event)
    batcher.put_back(batch)
    assert batcher.dropped == 2
    assert len(batcher) == 2
