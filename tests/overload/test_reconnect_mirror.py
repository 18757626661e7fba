"""static/archviz/overload/reconnect.js is the exact mirror of archviz/core/reconnect.py's
reconnect_delay_ms (the bots', the node's docs' and the benchmark's one copy): both run on
the same random numbers, policies, attempts and node hints, and agree."""

import json
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from archviz.core import reconnect
from archviz.overload.reconnect import MAX_HINT_MS

ROOT = Path(__file__).resolve().parents[2]
RECONNECT_JS = ROOT / "archviz/overload/static/archviz/overload/reconnect.js"
ATTEMPTS = range(0, 12)
HINTS = (0.0, 600.0, 20_000.0)
BACKOFFS = [(250.0, 8000.0), (100.0, 1500.0), (0.0, 10.0)]  # (base_ms, cap_ms)
CASES = [
    (policy, attempt, base, cap, hint)
    for base, cap in BACKOFFS
    for policy in reconnect.RECONNECT_POLICIES
    for attempt in ATTEMPTS
    for hint in HINTS
]


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
        reconnect.reconnect_delay_ms(reconnect.ReconnectPolicy(p, base, cap), a, rng, hint)
        for p, a, base, cap, hint in CASES
    ]


def _js(numbers: list[float]) -> dict:
    script = f"""
import * as r from {json.dumps(RECONNECT_JS.as_uri())};
const numbers = {json.dumps(numbers)};
const rng = () => numbers.shift();
const cases = {json.dumps(CASES)};
console.log(JSON.stringify({{
  policies: r.RECONNECT_POLICIES,
  maxHintMs: r.MAX_HINT_MS,
  delays: cases.map(([p, a, baseMs, capMs, hint]) =>
    r.reconnectDelayMs(p, a, rng, {{ baseMs, capMs, factor: 2 }}, hint)),
}}));
"""
    done = subprocess.run(
        ["node", "--input-type=module", "-e", script], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.skipif(shutil.which("node") is None, reason="no node to run the JS with")
def test_js_and_python_give_the_same_delays_on_the_same_random_numbers() -> None:
    seeded = random.Random(7)
    numbers = [seeded.random() for _ in range(len(CASES))]
    python = _python(numbers)
    assert len(set(python)) > 20  # the cases are not all alike
    js = _js(numbers)
    assert js["policies"] == list(reconnect.RECONNECT_POLICIES)
    assert js["maxHintMs"] == MAX_HINT_MS
    assert js["delays"] == python
