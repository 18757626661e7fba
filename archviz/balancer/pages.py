"""The load-balancer page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static

from archviz.balancer.algorithms import NAMES as ALGORITHM_NAMES
from archviz.core.pages import login_required, page_config


def load_balancer(request: HttpRequest) -> HttpResponse:
    """The load-balancer demo: traffic through a real proxy, algorithms, live charts."""
    if redirect := login_required(request):
        return redirect
    config = page_config(request) | {
        "algorithms": list(ALGORITHM_NAMES),
        "plotly_url": static("archviz/vendor/plotly.min.js"),
    }
    return render(request, "archviz/lb.html", {"page_config": config})
