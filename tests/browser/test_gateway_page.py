"""The gateway page in a real browser, each tab a real client of the gateway through the
balancer's gateway listener: two bidders watch one auction and both see a bid; a tab with
no token is refused with the gateway's reason, a viewer too; the side by side shows the
forged token stopped by the gateway and answered by the catalog around it. Screenshots of
each state a learner goes through are written to /tmp/gw-*.png."""

import re
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.harness.lab import RunningLab
from tests.harness.wait_for import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SHOTS = "/tmp/gw-{}.png"


@pytest.fixture(scope="module")
def lab(tmp_path_factory) -> Iterator[RunningLab]:
    """A whole lab with the gateway demo's processes (the shared one runs without them)."""
    running = RunningLab(tmp_path_factory.mktemp("gateway-page"), gateway_demo=True).start()
    try:
        running.wait_for_ready(3)
        yield running
    finally:
        running.process.close(timeout=15)


CONCLUSION = (
    r"Through the gateway 0 of (\d+) bad requests reached a service; "
    r"through the load balancer \(:\d+\) (\d+) of \1 did: .*"
)


def _gateway_ready(state: dict) -> bool:
    g = state.get("gateway")
    if not g or not g["entry_port"] or not g["auctions"]:
        return False
    running = [*g["replicas"], *g["services"]]
    return (
        len(running) >= 7
        and all(p["status"] == "up" for p in running)
        and all(r["health"] == "healthy" for r in g["replicas"])
    )


def _preflight_granted(lab: RunningLab, port: int) -> bool:
    """Whether a gateway replica grants the dashboard's page a CORS preflight yet (it learns
    the dashboards' origins from the registry about once a second)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/auth/token",
        method="OPTIONS",
        headers={"Origin": lab.url, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:
            return answer.headers.get("Access-Control-Allow-Origin") == lab.url
    except (urllib.error.URLError, OSError):
        return False


def _open(page: Page, lab: RunningLab) -> None:
    state = lab.wait_until(_gateway_ready, "every gateway process up, the replicas healthy", 60)
    for replica in state["gateway"]["replicas"]:  # each one, not whichever the LB picks
        port = replica["port"]
        what = f"{replica['id']} grants the dashboard's page CORS"
        wait_for(lambda port=port: _preflight_granted(lab, port), what, 15)
    page.goto(lab.url + "/gateway/")
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)
    expect(page.locator("#bid")).to_be_enabled(timeout=10_000)


def _sign_in(page: Page, name: str, role: str = "bidder") -> None:
    page.fill("#signin-name", name)
    page.select_option("#signin-role", role)
    page.locator("#signin").click()
    try:
        expect(page.locator("#token-box")).to_be_visible(timeout=10_000)
    except AssertionError:
        pytest.fail(f"sign-in as {name} failed: {page.locator('#bid-result').inner_text()}")
    expect(page.locator("#watch-status")).to_contain_text("live on gateway-", timeout=10_000)


def test_two_bidders_see_each_others_bid_and_a_low_bid_is_refused(
    page: Page, lab: RunningLab
) -> None:
    """Two tabs watch the same auction over the gateway's WebSocket; one bids; both show the
    new highest bid and its bidder. A bid below it: 409 with the current highest."""
    _open(page, lab)
    page.screenshot(path=SHOTS.format("1-first-load"), full_page=True)
    other = page.context.new_page()
    _open(other, lab)
    _sign_in(page, "ada")
    _sign_in(other, "bob")
    expect(page.locator("#token-box [data-field='kid']")).not_to_have_text("—")
    page.screenshot(path=SHOTS.format("2-signed-in"), full_page=True)
    page.fill("#bid-amount", "12345.60")
    page.locator("#bid").click()
    expect(page.locator("#bid-result")).to_contain_text("Bid accepted: 12,345.60", timeout=10_000)
    for tab in (page, other):
        live = tab.locator("#auction-live")
        expect(live.locator("[data-field='highest']")).to_have_text("12,345.60", timeout=10_000)
        expect(live.locator("[data-field='bidder']")).to_have_text("ada")
        expect(tab.locator("#auction-history li").first).to_contain_text("12,345.60 by ada")
    page.screenshot(path=SHOTS.format("3-bid-accepted"), full_page=True)
    other.fill("#bid-amount", "1")
    other.locator("#bid").click()
    expect(other.locator("#bid-result")).to_contain_text("409 Conflict", timeout=10_000)
    expect(other.locator("#bid-result")).to_contain_text("12,345.60 by ada")
    other.screenshot(path=SHOTS.format("4-bid-refused"), full_page=True)
    other.close()


def test_a_tab_without_a_token_is_refused_with_the_reason_and_so_is_a_viewer(
    page: Page, lab: RunningLab
) -> None:
    """No token: the gateway's 401 error=missing is shown; a viewer's bid: 403
    insufficient_scope. Both stopped at the gateway, drawn red in the replica's lane."""
    _open(page, lab)
    page.locator("#bid").click()
    result = page.locator("#bid-result")
    expect(result).to_contain_text("401 Unauthorized: error=missing", timeout=10_000)
    expect(page.locator(".gw-request[data-mine][data-tone='denied']").first).to_be_visible(
        timeout=10_000
    )
    page.screenshot(path=SHOTS.format("5-no-token-refused"), full_page=True)
    _sign_in(page, "vera", role="viewer")
    page.locator("#bid").click()
    expect(result).to_contain_text("403 Forbidden: insufficient_scope", timeout=10_000)
    expect(result).to_contain_text("bids:write")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=SHOTS.format("7-narrow-390"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide at 390: it scrolls sideways"


def test_the_side_by_side_shows_the_forged_token_reaching_the_catalog_around_the_gateway_only(
    page: Page, lab: RunningLab
) -> None:
    """The same five requests both ways: the forged token is a 401 from the gateway and a 200
    from the catalog around it, which counts it as forged; the conclusion is drawn from the
    catalog's counts (1 expired + 1 forged + 1 viewer + 11 over the read quota of 20 = 14)."""
    _open(page, lab)
    page.locator("#compare-run").click()
    table = page.locator("#compare-table")
    expect(table).to_be_visible(timeout=30_000)
    forged = table.locator("tr[data-case='forged']")
    expect(forged.locator("td[data-path='gateway']")).to_have_text("401")
    expect(forged.locator("td[data-path='direct']")).to_have_text("200 OK")
    expect(table.locator("tr[data-case='burst'] td[data-path='gateway']")).to_contain_text("429")
    expect(table.locator("tr[data-case='burst'] td[data-path='direct']")).to_have_text(
        "200 OK \u00d730"
    )
    conclusion = page.locator("#compare-conclusion")
    expect(conclusion).not_to_be_empty()
    page.locator("#compare-panel").scroll_into_view_if_needed()
    page.screenshot(path=SHOTS.format("6-side-by-side"), full_page=True)
    # 3 bad tokens and the burst past the quota (how many depends on the bucket's refill)
    text = conclusion.inner_text()
    said = re.fullmatch(CONCLUSION, text)
    assert said and int(said.group(1)) >= 4 and said.group(2) == said.group(1), text
    reached = table.locator("tfoot")
    expect(reached.locator("[data-field='reached-direct']")).to_contain_text("forged \u00d71")
    expect(reached.locator("[data-field='reached-gateway']")).not_to_contain_text("forged")


def test_an_instructor_kills_the_replica_their_socket_is_on_and_the_tab_resumes_on_the_other(
    page: Page, lab: RunningLab, log_in_instructor
) -> None:
    """The kill scenario picks the tab's own replica; SIGKILL drops the socket, the tab
    reconnects through the balancer to the other replica after its last seq, and the
    supervisor brings the killed one back up on its port."""
    log_in_instructor(page, "/gateway/")
    _open(page, lab)
    _sign_in(page, "teacher-bids")
    status = page.locator("#watch-status")
    mine = status.inner_text().split("live on ", 1)[1].split(",")[0]
    expect(page.locator("#kill-gateway")).to_have_value(mine, timeout=5_000)
    restarts = next(r["restarts"] for r in lab.state()["gateway"]["replicas"] if r["id"] == mine)
    page.locator("button[data-scenario='kill-gateway']").click()
    expect(page.locator("#scenario-message")).to_contain_text(f"SIGKILL sent to {mine}")
    expect(page.locator("#scenario-message")).to_contain_text(f"gateway.kill {mine}: accepted")
    other = re.compile(r"live on gateway-\d+, resumed after seq \d+")
    expect(status).to_have_text(other, timeout=15_000)
    assert mine not in status.inner_text()
    expect(page.locator("#auction-history li")).not_to_have_count(0)  # kept over the move
    page.screenshot(path=SHOTS.format("8-instructor-killed-a-replica"), full_page=True)
    lab.wait_until(
        lambda s: any(
            r["id"] == mine and r["status"] == "up" and r["restarts"] > restarts
            for r in s["gateway"]["replicas"]
        ),
        f"{mine} restarted and up again",
        30,
    )


def test_the_lab_page_draws_every_process_of_the_gateway_demo_too(
    page: Page, lab: RunningLab
) -> None:
    """The Lab page draws every process of the lab (issue 13), the gateway demo's too: the
    auth service, the catalog and bidding replicas and the gateway replicas each have one box
    or line in the picture and one row in the process list."""
    state = lab.wait_until(_gateway_ready, "every gateway process up, the replicas healthy", 60)
    ids = [p["id"] for p in state["processes"]]
    kinds = {p["kind"] for p in state["processes"]}
    assert {"auth", "catalog", "bidding", "gateway"} <= kinds, kinds
    page.goto(lab.url + "/lab/")
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=15_000)
    svg, table = page.locator("svg#topology"), page.locator("#process-list")
    for process_id in ids:
        expect(svg.locator(f'[data-process~="{process_id}"]')).to_have_count(1)
        expect(table.locator(f'tr[data-process="{process_id}"]')).to_have_count(1)
    page.screenshot(path=SHOTS.format("lab-page"), full_page=True)
