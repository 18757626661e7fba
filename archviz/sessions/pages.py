"""The sessions page, and the switch an instructor turns on it."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from archviz.core.pages import login_required, page_config
from archviz.core.redis_conn import shared_client
from archviz.sessions.modes import MODES
from archviz.sessions.switch import current_mode


def sessions(request: HttpRequest) -> HttpResponse:
    """The sessions demo: a cart on the nodes, its session in memory, sticky, or in Redis."""
    if redirect := login_required(request):
        return redirect
    config = page_config(request) | {
        "modes": {m.name: {"label": m.label, "algorithm": m.algorithm} for m in MODES.values()},
        "mode": current_mode(shared_client()),
        "cart_path": "/cart/",
    }
    return render(request, "archviz/sessions.html", {"page_config": config})
