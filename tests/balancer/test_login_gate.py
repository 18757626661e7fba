"""ARCHVIZ_REQUIRE_LOGIN at the balancer: who passes, and what is remembered."""

from multidict import CIMultiDict

from archviz.balancer.login_gate import MAX_VERDICTS, VERDICT_TTL_S, LoginGate
from archviz.core.http import LAB_CLIENT_HEADER, lab_client_token


class _Request:
    def __init__(self, **headers: str) -> None:
        self.headers = CIMultiDict(headers)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _gate(logged_in: set[str], clock=None) -> tuple[LoginGate, list[str]]:
    asked: list[str] = []

    def check(key: str) -> bool:
        asked.append(key)
        return key in logged_in

    return LoginGate(check, clock=clock or _Clock()), asked


async def test_a_request_with_no_session_is_refused_and_counted() -> None:
    """No cookie, or a cookie of no session: refused, naming the login page, and counted."""
    gate, _ = _gate(set())
    assert "login required" in await gate.refusal(_Request())
    assert "/accounts/login/" in await gate.refusal(_Request(Cookie="sessionid=nobody"))
    assert gate.refused_total == 2


async def test_a_logged_in_session_passes() -> None:
    """The dashboard's session cookie, among others, lets the request through."""
    gate, asked = _gate({"k1"})
    assert await gate.refusal(_Request(Cookie="archviz_cart=c; sessionid=k1; x=y")) is None
    assert asked == ["k1"] and gate.refused_total == 0


async def test_the_labs_own_clients_pass_without_a_session() -> None:
    """The traffic generator and the bots prove themselves with the lab-client token."""
    gate, asked = _gate(set())
    assert await gate.refusal(_Request(**{LAB_CLIENT_HEADER: lab_client_token()})) is None
    assert asked == []
    assert await gate.refusal(_Request(**{LAB_CLIENT_HEADER: "forged"})) is not None


async def test_a_verdict_is_remembered_for_a_few_seconds_only() -> None:
    """One check per session per VERDICT_TTL_S: a log-out is seen once that has passed."""
    clock = _Clock()
    logged_in = {"k1"}
    gate, asked = _gate(logged_in, clock)
    request = _Request(Cookie="sessionid=k1")
    assert await gate.refusal(request) is None
    clock.now = VERDICT_TTL_S - 0.1
    logged_in.clear()
    assert await gate.refusal(request) is None
    assert asked == ["k1"]
    clock.now = VERDICT_TTL_S + 0.1
    assert await gate.refusal(request) is not None
    assert asked == ["k1", "k1"]


async def test_the_remembered_verdicts_are_bounded() -> None:
    """A flood of made-up session keys cannot grow the balancer's memory without end."""
    gate, _ = _gate(set())
    for number in range(MAX_VERDICTS + 50):
        await gate.refusal(_Request(Cookie=f"sessionid=key{number}"))
    assert len(gate._verdicts) == MAX_VERDICTS
