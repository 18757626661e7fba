"""The dashboard's own pages: the lab, and its health for the balancer in front of several."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from archviz.core.pages import login_required, page_config
from archviz.core.redis_conn import redis_address


def health(request: HttpRequest) -> HttpResponse:
    """200 while this process serves: the dashboards' listener checks it (no login, no I/O)."""
    return HttpResponse("ok\n", content_type="text/plain")


def lab(request: HttpRequest) -> HttpResponse:
    """The lab: topology, trace log, and (for instructors) the controls and Redis's address."""
    if redirect := login_required(request):
        return redirect
    config = page_config(request)
    if config["instructor"]:
        config["redis_address"] = redis_address()  # host:port only, never the password
    return render(request, "archviz/lab.html", {"page_config": config})
