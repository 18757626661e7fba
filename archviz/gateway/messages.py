"""The gateway demo as the dashboard shows it (state["gateway"] in every lab state frame),
written once; mirrored where the page reads it (static/archviz/gateway/view.js).

Read from Redis only (state.py): the supervisor's records, the registry, each process's
heartbeat metrics, the auctions, the key ring and the bots' snapshot. Never key material,
never a token: only key ids, states and times.
"""

from typing import Literal, NotRequired, TypedDict

ServiceKind = Literal["auth", "catalog", "bidding"]
KeyState = Literal["current", "retiring", "retired"]


class ReplicaView(TypedDict):
    """One gateway replica (`manage.py gateway`)."""

    id: str
    status: str  # the supervisor's word: starting | up | down | stopped | failed
    detail: str
    pid: int | None
    port: int | None
    restarts: int
    health: str  # the balancer's word for it on the gateway listener: healthy, unhealthy, ...
    websockets: int
    subscriptions: dict[str, int]  # auction -> watchers on this replica (its refcount)
    requests: dict[str, int]  # by verdict: "ok", "401", "429", ...
    denied: dict[str, int]  # the gateway's own refusals, by status
    token_errors: dict[str, int]  # why tokens were refused: expired, bad_signature, ...
    reached: dict[str, int]  # service -> requests this replica sent to it
    closes: dict[str, int]  # sockets it closed, by close code
    retries: int
    limiter_errors: int  # the rate limiter could not be read: let through (fail open)


class ServiceView(TypedDict):
    """One replica of a service behind the gateway."""

    id: str
    kind: ServiceKind
    status: str
    detail: str
    pid: int | None
    port: int | None
    restarts: int
    health: str  # the balancer's services listener's word (catalog); "unknown" for the others
    rps: float
    in_flight: int
    counts: dict[str, int]  # what it reports: issued, accepted, refused:<why>, ...
    reached_by_token: dict[str, int]  # catalog: requests that reached it, by token verdict


class UpdateView(TypedDict):
    """One update of an auction (archviz/gateway/auction.py AuctionUpdate)."""

    type: str  # opened | bid | closed
    seq: int
    amount_cents: int
    bidder: str
    ts: int


class AuctionView(TypedDict):
    id: str
    title: str
    start_cents: int
    highest_cents: int  # 0: nobody has bid
    bidder: str
    seq: int
    ends_at_ms: int
    closed: bool
    winner: str  # "" while open or when nobody bid
    recent: list[UpdateView]  # the newest first, at most RECENT_UPDATES


class SigningKeyView(TypedDict):
    kid: str
    state: KeyState
    created: float | None  # unix s
    retire_at: float | None  # unix s: a retiring key verifies until then


class BotsView(TypedDict):
    asked: int  # how many an instructor asked for (gateway.bots)
    running: int  # how many the bots process says run
    connected: int
    bids: int
    accepted: int
    up: bool  # the bots process published a snapshot lately


class CompareRow(TypedDict):
    case: str
    words: str
    gateway: dict[str, int]  # status -> how many answers
    direct: dict[str, int]


class CompareResult(TypedDict):
    ts: float
    by: str
    direct_target: str  # what "around the gateway" was: the balancer's listener, or a replica
    rows: list[CompareRow]
    reached_gateway: int  # requests the catalog counted while the gateway run went
    reached_direct: int
    by_token_gateway: dict[str, int]  # the catalog's reached_by_token, grown during the run
    by_token_direct: dict[str, int]
    counted: bool  # the catalog reports what reached it (else only the statuses say)
    bad_sent: int  # bad requests sent each way: expired, forged, viewer, over the quota
    bad_reached_gateway: int
    bad_reached_direct: int
    conclusion: str
    run: NotRequired[
        int
    ]  # the class's run number (compare.keep_for_class); none if not the class's


class GatewayView(TypedDict):
    entry_port: int | None  # the balancer's gateway listener (ARCHVIZ_GATEWAY_PORT)
    services_port: int | None  # the balancer's listener straight to the catalog (bypass)
    replicas: list[ReplicaView]
    services: list[ServiceView]
    auctions: list[AuctionView]
    keys: list[SigningKeyView]
    revoked: int  # token ids revoked and not yet expired
    expired_before: float | None  # unix s: every token issued before was expired at once
    bots: BotsView
    compare: CompareResult | None  # the side-by-side an instructor ran for the class, lately


# lab socket, server -> client (the other frames are archviz/dashboard/messages.py's)
class GatewayCompareFrame(TypedDict):
    type: Literal["gateway_compare"]
    result: CompareResult
