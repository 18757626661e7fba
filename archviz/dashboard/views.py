"""The dashboard's own page: the lab."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from archviz.core.pages import login_required, page_config
from archviz.core.redis_conn import redis_address


def lab(request: HttpRequest) -> HttpResponse:
    """The lab: topology, trace log, and (for instructors) the controls and Redis's address."""
    if redirect := login_required(request):
        return redirect
    config = page_config(request)
    if config["instructor"]:
        config["redis_address"] = redis_address()  # host:port only, never the password
    return render(request, "archviz/lab.html", {"page_config": config})
