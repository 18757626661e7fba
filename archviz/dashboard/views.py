"""The dashboard's pages."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static

from archviz.balancer.algorithms import NAMES as ALGORITHM_NAMES
from archviz.dashboard.control import PERMISSION
from archviz.lab.control import TRAFFIC_LIMITS
from archviz.lab.redis_conn import shared_client
from archviz.sessions.modes import MODES
from archviz.sessions.switch import current_mode


def _page_config(request: HttpRequest) -> dict:
    """What every lab page's script needs to know about the user, embedded as JSON."""
    return {
        "ws_path": "/ws/lab/",
        "instructor": request.user.has_perm(PERMISSION),
        "user": request.user.get_username() if request.user.is_authenticated else None,
    }


def _login_required(request: HttpRequest) -> HttpResponse | None:
    if settings.ARCHVIZ_REQUIRE_LOGIN and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return None


def home(request: HttpRequest) -> HttpResponse:
    """The lab: topology, trace log, and (for instructors) the controls."""
    if redirect := _login_required(request):
        return redirect
    return render(request, "archviz/home.html", {"page_config": _page_config(request)})


def load_balancer(request: HttpRequest) -> HttpResponse:
    """The load-balancer demo: traffic through a real proxy, algorithms, live charts."""
    if redirect := _login_required(request):
        return redirect
    page_config = _page_config(request) | {
        "algorithms": list(ALGORITHM_NAMES),
        "traffic_limits": {f: [low, high] for f, _kind, low, high in TRAFFIC_LIMITS},
        "plotly_url": static("archviz/vendor/plotly.min.js"),
    }
    return render(request, "archviz/lb.html", {"page_config": page_config})


def sessions(request: HttpRequest) -> HttpResponse:
    """The sessions demo: a cart on the nodes, its session in memory, sticky, or in Redis."""
    if redirect := _login_required(request):
        return redirect
    page_config = _page_config(request) | {
        "modes": {m.name: {"label": m.label, "algorithm": m.algorithm} for m in MODES.values()},
        "mode": current_mode(shared_client()),
        "cart_path": "/cart/",
    }
    return render(request, "archviz/sessions.html", {"page_config": page_config})
