"""The API gateway page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from archviz.core.pages import login_required, page_config
from archviz.gateway.bids import MAX_AMOUNT_CENTS
from archviz.gateway.control import MAX_AUCTION_BOTS
from archviz.gateway.limits import POLICIES
from archviz.gateway.tokens import DEFAULT_TTL_S, MAX_TTL_S, MIN_TTL_S


def gateway_page(request: HttpRequest) -> HttpResponse:
    """The API gateway demo: tab -> LB -> gateway replicas -> services, a live auction, and
    the same requests through the gateway and around it."""
    if redirect := login_required(request):
        return redirect
    config = page_config(request) | {
        "token_ttl_s": [DEFAULT_TTL_S, 30, MIN_TTL_S * 2],
        "max_ttl_s": MAX_TTL_S,
        "max_amount_cents": MAX_AMOUNT_CENTS,
        "max_bots": MAX_AUCTION_BOTS,
        "policies": {name: {"rate": p.rate, "burst": p.burst} for name, p in POLICIES.items()},
    }
    return render(request, "archviz/gateway.html", {"page_config": config})
