"""static/archviz/overload/reconnect.js is the exact mirror of archviz/node/shedding.py's
reconnect_delay_ms: both run on the same random numbers and give the same delays."""

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from archviz.node.shedding import RECONNECT_POLICIES, Backoff, reconnect_delay_ms

ROOT = Path(__file__).resolve().parents[2]
RECONNECT_JS = ROOT / "archviz/overload/static/archviz/overload/reconnect.js"
ATTEMPTS = range(0, 12)
BACKOFFS = [Backoff(), Backoff(base_ms=100.0, cap_ms=1500.0), Backoff(base_ms=0.0, cap_ms=10.0)]


class _Replayed(random.Random):
    """A random source that returns the given numbers in turn (JS gets the same list)."""

    def __init__(self, numbers: list[float]) -> None:
        super().__init__()
        self.numbers = list(numbers)

    def random(self) -> float:
        return self.numbers.pop(0)


def _python(numbers: list[float]) -> list[float]:
    rng = _Replayed(numbers)
    return [
        reconnect_delay_ms(policy, attempt, rng, backoff)
        for backoff in BACKOFFS
        for policy in RECONNECT_POLICIES
        for attempt in ATTEMPTS
    ]


def _js(numbers: list[float]) -> list[float]:
    cases = [
        [policy, attempt, {"baseMs": b.base_ms, "capMs": b.cap_ms, "factor": b.factor}]
        for b in BACKOFFS
        for policy in RECONNECT_POLICIES
        for attempt in ATTEMPTS
    ]
    script = f"""
import {{ reconnectDelayMs, RECONNECT_POLICIES }} from {json.dumps(RECONNECT_JS.as_uri())};
const numbers = {json.dumps(numbers)};
const rng = () => numbers.shift();
const cases = {json.dumps(cases)};
console.log(JSON.stringify({{
  policies: RECONNECT_POLICIES,
  delays: cases.map(([p, a, b]) => reconnectDelayMs(p, a, rng, b)),
}}));
"""
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["policies"] == list(RECONNECT_POLICIES)
    return answer["delays"]


@pytest.mark.skipif(shutil.which("node") is None, reason="no node to run the JS with")
def test_js_and_python_give_the_same_delays_on_the_same_random_numbers() -> None:
    seeded = random.Random(7)
    numbers = [seeded.random() for _ in range(400)]
    python = _python(numbers)
    assert len(set(python)) > 10  # the cases are not all alike
    assert _js(numbers) == python
    assert len(set(python[36:48])) == len(ATTEMPTS)  # full jitter: a new number each time
