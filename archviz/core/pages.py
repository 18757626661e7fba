"""What every page of the dashboard does first: the login rule and the page's config."""

from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import resolve_url

from archviz.core import hooks
from archviz.core.instructor import PERMISSION


def page_config(request: HttpRequest) -> dict:
    """What every lab page's script needs to know about the user, embedded as JSON."""
    config = {
        # the page's path goes with it: what this page sets says where it was set
        "ws_path": f"/ws/lab/?page={quote(request.path)}",
        "instructor": request.user.has_perm(PERMISSION),
        "user": request.user.get_username() if request.user.is_authenticated else None,
    }
    for contribution in hooks.page_configs():
        config |= contribution()
    return config


def login_required(request: HttpRequest) -> HttpResponse | None:
    """A redirect to the login page when ARCHVIZ_REQUIRE_LOGIN asks for one, else None."""
    if settings.ARCHVIZ_REQUIRE_LOGIN and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    return None


async def api_login_required(request: HttpRequest) -> JsonResponse | None:
    """A JSON 401 when ARCHVIZ_REQUIRE_LOGIN asks for a login and there is none, else None:
    the APIs answer a script, which cannot follow a redirect to a form."""
    if settings.ARCHVIZ_REQUIRE_LOGIN and not (await request.auser()).is_authenticated:
        error = f"login required: log in at {resolve_url(settings.LOGIN_URL)} first"
        return JsonResponse({"error": error}, status=401)
    return None
