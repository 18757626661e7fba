"""The instructor's faults in this process: a real CPU hog and a real memory balloon, each
bounded, one of a kind at a time, and ending by themselves."""

import threading

import pytest

from archviz.core.metrics import rss_bytes
from archviz.node.faults import MIB, ActiveFault, FaultRefused, Faults
from tests.harness.wait_for import wait_for


@pytest.fixture
def ended() -> list[ActiveFault]:
    return []


@pytest.fixture
def faults(ended: list[ActiveFault]):
    faults = Faults(on_end=ended.append)
    yield faults
    faults.stop()


def test_a_hog_burns_cpu_and_ends_by_itself(faults: Faults, ended: list) -> None:
    """A 1 s hog spins until its end, then it is gone; it says how much CPU it got (a core's
    worth on an idle machine, less on one the tests share: not asserted)."""
    fault = faults.hog(1)
    assert faults.active() == fault.as_dict()
    assert faults.active()["kind"] == "hog" and faults.active()["seconds"] == 1
    wait_for(lambda: ended, "the hog to end by itself", 10)
    assert ended[0].cpu_s > 0 and ended[0].as_dict()["cpu_s"] == ended[0].cpu_s
    assert faults.active() is None


def test_a_second_hog_is_refused_while_one_runs(faults: Faults) -> None:
    """One of a kind at a time: the refusal says how long the running one has left."""
    faults.hog(2)
    with pytest.raises(FaultRefused, match=r"a hog is already running for \d\.\d s more"):
        faults.hog(5)


def test_a_balloon_is_resident_then_released(faults: Faults, ended: list) -> None:
    """64 MiB for 1 s: RSS rises by about that much, and falls back when it ends."""
    before = rss_bytes()
    faults.balloon(64, 1)
    wait_for(lambda: faults.balloon_bytes == 64 * MIB, "the balloon inflated", 10)
    assert rss_bytes() - before > 60 * MIB  # every page written, so resident
    wait_for(lambda: ended, "the balloon to end by itself", 10)
    assert rss_bytes() - before < 16 * MIB
    assert faults.active() is None


def test_stopping_ends_every_fault_at_once(faults: Faults, ended: list) -> None:
    """The node stopping does not wait out a 30 s hog or a minute's balloon."""
    faults.hog(30)
    faults.balloon(8, 60)
    faults.stop()
    wait_for(lambda: len(ended) == 2, "both faults ended", 5)


@pytest.mark.parametrize(
    ("start", "error"),
    [
        (lambda f: f.hog(31), "seconds must be a whole number from 1 to 30, not 31"),
        (lambda f: f.hog(0), "from 1 to 30, not 0"),
        (lambda f: f.balloon(513, 5), "mb must be a whole number from 1 to 512, not 513"),
        (lambda f: f.balloon(8, 61), "seconds must be a whole number from 1 to 60, not 61"),
    ],
)
def test_faults_out_of_bounds_never_start(faults: Faults, start, error: str) -> None:
    """The bounds hold for any caller, not only the control command's parser."""
    threads = threading.active_count()
    with pytest.raises(FaultRefused, match=error):
        start(faults)
    assert threading.active_count() == threads and faults.active() is None
