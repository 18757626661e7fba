"""The overload page."""

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static

from archviz.core import node_commands
from archviz.core.instructor import PERMISSION
from archviz.core.node_commands import SHED_POLICIES
from archviz.core.pages import login_required, page_config
from archviz.core.reconnect import RECONNECT_POLICIES
from archviz.overload import control
from archviz.overload.reconnect import MAX_HINT_MS
from archviz.overload.socket import RECONNECT_BOUNDS

TICKET_SALT = "archviz.node.ticket"  # issue 12's contract: nodes check it with this salt


def node_ticket(request: HttpRequest) -> str | None:
    """The signed role a node reads from this tab's socket (never shed an instructor; a
    signed-in learner after bots and anonymous tabs); None for an anonymous visitor."""
    if not request.user.is_authenticated:
        return None
    role = "instructor" if request.user.has_perm(PERMISSION) else "learner"
    return signing.dumps({"role": role, "user": request.user.get_username()}, salt=TICKET_SALT)


def overload_page(request: HttpRequest) -> HttpResponse:
    """The overload demo: pressure per node, admission and shedding, the reconnect storm."""
    if redirect := login_required(request):
        return redirect
    config = page_config(request) | {
        "plotly_url": static("archviz/vendor/plotly.min.js"),
        "ticket": node_ticket(request),
        "hold_path": "/ws/hold/",
        "reconnect_policies": list(RECONNECT_POLICIES),
        "reconnect_bounds": RECONNECT_BOUNDS,
        "shed_policies": list(SHED_POLICIES),
        "max_clients": control.MAX_CLIENTS,
        "max_flood_s": control.MAX_FLOOD_S,
        "flood_s": control.DEFAULT_FLOOD_S,
        "max_hint_ms": MAX_HINT_MS,
        "max_hog_s": node_commands.MAX_HOG_S,
        "max_balloon_mb": node_commands.MAX_BALLOON_MB,
        "max_balloon_s": node_commands.MAX_BALLOON_S,
    }
    return render(request, "archviz/overload.html", {"page_config": config})
