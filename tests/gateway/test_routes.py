"""The gateway's route table: matching (404 vs 405, strict ids), roles' scopes, authorising."""

import pytest

from archviz.gateway import routes
from archviz.gateway.routes import ADMIN, BID, READ, ROLE_SCOPES, ROUTES, Match, NoRoute


def _route(name: str) -> routes.Route:
    return next(r for r in ROUTES if r.name == name)


@pytest.mark.parametrize(
    ("method", "path", "name", "params"),
    [
        ("POST", "/auth/token", "auth.token", {}),
        ("GET", "/auth/jwks.json", "auth.jwks", {}),
        ("POST", "/auth/keys/rotate", "auth.rotate", {}),
        ("POST", "/auth/tokens/revoke", "auth.revoke", {}),
        ("POST", "/auth/tokens/expire-all", "auth.expire_all", {}),
        ("GET", "/catalog/auctions", "catalog.list", {}),
        ("GET", "/catalog/auctions/lot-7", "catalog.get", {"id": "lot-7"}),
        ("POST", "/auctions/a1/bids", "bidding.place", {"id": "a1"}),
        ("GET", "/ws/auctions/a1/", "ws.auction", {"id": "a1"}),
    ],
)
def test_every_route_is_matched_with_its_params(method, path, name, params) -> None:
    """Each public path of the contract finds its route and its <id>."""
    found = routes.match(method, path)
    assert isinstance(found, Match)
    assert (found.route.name, found.params) == (name, params)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "",
        "catalog/auctions",
        "/nope",
        "/catalog",
        "/catalog/auctions/",  # the table has no trailing slash here
        "/ws/auctions/a1",  # ... and one here
        "/catalog//auctions",
        "/catalog/auctions/a1/extra",
        "/catalog/auctions/A1",  # ids are lower case
        "/catalog/auctions/a_1",
        "/catalog/auctions/a.1",
        "/catalog/auctions/..",
        "/catalog/auctions/%2e%2e",
        "/catalog/auctions/" + "a" * 41,
        "/catalog/auctions/lot 7",
        "/catalog/auctions/lot\n7",
        "/catalog/auctions/l\u00f6t",
        "/auctions/a1/bids?x=1",  # the query string is not the gateway's to match
        "/" + "a/" * 400,
    ],
)
def test_unknown_or_odd_paths_are_404_from_the_gateway(path) -> None:
    """A path no pattern fits, or with an id outside [a-z0-9-]{1,40}, is a 404."""
    assert routes.match("GET", path) == NoRoute(404)


def test_a_forty_character_id_is_the_longest_taken() -> None:
    """The id's length bound is inclusive."""
    assert isinstance(routes.match("GET", "/catalog/auctions/" + "a" * 40), Match)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/auth/token", ("POST",)),
        ("DELETE", "/catalog/auctions/a1", ("GET",)),
        ("get", "/catalog/auctions", ("GET",)),  # methods are case-sensitive
        ("GET", "/auctions/a1/bids", ("POST",)),
        ("POST", "/ws/auctions/a1/", ("GET",)),
    ],
)
def test_a_known_path_with_another_method_is_405_with_allow(method, path, allow) -> None:
    """405 says which methods the path takes."""
    assert routes.match(method, path) == NoRoute(405, allow)


def test_405_lists_every_method_of_paths_that_share_a_pattern() -> None:
    """Two routes on one path: Allow names both, sorted, once each."""
    extra = (*ROUTES, ROUTES[0]._replace(name="auth.token.delete", method="DELETE"))
    assert routes.match("GET", "/auth/token", extra) == NoRoute(405, ("DELETE", "POST"))


def test_no_route_becomes_its_denial() -> None:
    """NoRoute's denial is the gateway's own 404 or 405 (with Allow)."""
    assert NoRoute(404).denial("/x").status == 404
    denied = NoRoute(405, ("GET", "POST")).denial("/x")
    assert (denied.status, denied.header("Allow")) == (405, "GET, POST")


def test_the_table_is_consistent() -> None:
    """Names are unique, patterns start with /, every gRPC route goes to bidding, bodies
    are allowed only where a method sends one, deadlines are positive."""
    assert len({r.name for r in ROUTES}) == len(ROUTES)
    assert len({(r.method, r.pattern) for r in ROUTES}) == len(ROUTES)
    for route in ROUTES:
        assert route.pattern.startswith("/")
        assert route.deadline_ms > 0
        assert route.max_body_bytes == 0 or route.method == "POST"
        assert (route.protocol == "grpc") == (route.service == "bidding")
        assert (route.protocol == "websocket") == (route.service == "gateway")


def test_only_reads_are_retried_on_another_replica() -> None:
    """A retry is safe for GETs and the idempotent instructor commands, never for a bid or
    a token (each would be a second one)."""
    assert not _route("bidding.place").idempotent
    assert not _route("auth.token").idempotent
    assert all(r.idempotent for r in ROUTES if r.method == "GET" and r.protocol == "http")


def test_public_routes_are_the_token_and_the_key_set_only() -> None:
    """Everything but asking for a token and reading the public keys needs a token."""
    assert {r.name for r in ROUTES if r.scopes is None} == {"auth.token", "auth.jwks"}


def test_roles_add_scopes_to_the_one_below() -> None:
    """viewer reads and watches; bidder also bids; instructor also runs the auth service."""
    viewer, bidder, instructor = (set(ROLE_SCOPES[r]) for r in ("viewer", "bidder", "instructor"))
    assert viewer == {READ, routes.WATCH}
    assert bidder - viewer == {BID}
    assert instructor - bidder == {ADMIN}
    assert routes.scopes_for("bidder") == ROLE_SCOPES["bidder"]
    with pytest.raises(KeyError):
        routes.scopes_for("admin")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("viewer", {"auth.token", "auth.jwks", "catalog.list", "catalog.get", "ws.auction"}),
        ("bidder", {"auth.token", "auth.jwks", "catalog.list", "catalog.get", "ws.auction",
                    "bidding.place"}),
        ("instructor", {r.name for r in ROUTES}),
    ],
)  # fmt: skip
def test_each_role_may_use_exactly_its_routes(role, allowed) -> None:
    """authorise lets a role through its routes and answers 403 on every other."""
    granted = frozenset(ROLE_SCOPES[role])
    passed = {r.name for r in ROUTES if routes.authorise(r, granted) is None}
    assert passed == allowed


def test_a_viewer_bidding_is_403_insufficient_scope_naming_the_scope() -> None:
    """The denial names the scope the route needs, in the body and in the challenge."""
    denied = routes.authorise(_route("bidding.place"), frozenset(ROLE_SCOPES["viewer"]))
    assert denied is not None and denied.status == 403
    assert denied.body["error"] == "insufficient_scope"
    assert "bids:write" in denied.body["message"]
    assert denied.header("WWW-Authenticate") == (
        'Bearer realm="archviz", error="insufficient_scope", '
        'error_description="POST /auctions/<id>/bids needs the scope bids:write", '
        'scope="bids:write"'
    )


def test_no_scopes_at_all_are_refused_on_a_protected_route_and_pass_a_public_one() -> None:
    """None or empty scopes: 403 on a route that needs some; public routes need none."""
    assert routes.authorise(_route("catalog.get"), None).status == 403
    assert routes.authorise(_route("catalog.get"), frozenset()).status == 403
    assert routes.authorise(_route("auth.token"), None) is None


def test_a_scope_outside_the_route_does_not_help() -> None:
    """Scopes are compared by name: an admin scope alone does not read the catalog."""
    assert routes.authorise(_route("catalog.list"), frozenset({ADMIN})).status == 403
