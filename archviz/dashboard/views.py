"""The dashboard's own page: the lab."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from archviz.core.pages import login_required, page_config


def home(request: HttpRequest) -> HttpResponse:
    """The lab: topology, trace log, and (for instructors) the controls."""
    if redirect := login_required(request):
        return redirect
    return render(request, "archviz/home.html", {"page_config": page_config(request)})
