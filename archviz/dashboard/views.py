"""The dashboard's pages."""

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from archviz.dashboard.control import PERMISSION


def home(request: HttpRequest) -> HttpResponse:
    """The lab: topology, trace log, and (for instructors) the controls."""
    if settings.ARCHVIZ_REQUIRE_LOGIN and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    page_config = {
        "ws_path": "/ws/lab/",
        "instructor": request.user.has_perm(PERMISSION),
        "user": request.user.get_username() if request.user.is_authenticated else None,
    }
    return render(request, "archviz/home.html", {"page_config": page_config})
