"""/accounts/solo/<token>: a one-time link printed by `manage.py lab` signs the browser that
opens it in as the lab's instructor (core/signin_links.py).

A GET only asks (link previewers and prefetchers fetch what they see); the POST of its
CSRF-protected button uses the token up. From another machine the link is refused unless
the lab was started for a class (ARCHVIZ_HOST not loopback).
"""

import logging

import redis
from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.contrib.auth.models import AbstractBaseUser, Group
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from archviz.core import signin_links
from archviz.core.redis_conn import shared_client

log = logging.getLogger(__name__)
USERNAME = "solo"
INSTRUCTORS = "Instructors"  # the group of dashboard/migrations/0002
BACKEND = "django.contrib.auth.backends.ModelBackend"
ANOTHER_LINK = "run `python manage.py signin_link` on the lab's machine for a new one."


@never_cache
@require_http_methods(["GET", "POST"])
def solo(request: HttpRequest, token: str) -> HttpResponse:
    """GET: a page with the sign-in button; POST: use the token up and sign in."""
    if refusal := _refused_address(request):
        return _refused(request, refusal, 403)
    if request.method == "GET":
        return _page(request, {"ask": True})
    user = _solo_user()
    if not user.is_active:
        return _refused(request, "The solo account is deactivated in the admin: log in.", 403)
    try:
        redeemed = signin_links.redeem(shared_client(), token)
    except redis.RedisError as exc:
        log.warning("sign-in link: Redis unreachable: %s", exc)
        return _refused(request, "The lab's Redis cannot be reached: try again shortly.", 503)
    if not redeemed:
        return _refused(request, f"This sign-in link was used or has expired: {ANOTHER_LINK}", 410)
    login(request, user, backend=BACKEND)
    return redirect("/")


def _refused_address(request: HttpRequest) -> str:
    """Why this request's machine may not use a link, in words; "" when it may."""
    address = request.META.get("REMOTE_ADDR", "")
    if signin_links.is_loopback(address) or not signin_links.is_loopback(settings.ARCHVIZ_HOST):
        return ""
    return (
        "Sign-in links work only on the lab's own machine: this lab was started for this "
        "machine alone (ARCHVIZ_HOST is loopback). Open the link there, or log in."
    )


def _solo_user() -> AbstractBaseUser:
    """The instructor that sign-in links sign in as, made on first use (no password). It is
    kept an instructor: the admin turns the links off by deactivating the account."""
    user, created = get_user_model().objects.get_or_create(username=USERNAME)
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=INSTRUCTORS))
    return user


def _refused(request: HttpRequest, reason: str, status: int) -> HttpResponse:
    return _page(request, {"refusal": reason}, status)


def _page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    response = render(request, "archviz/solo.html", context, status=status)
    # The page's URL holds the token: it goes to no other site as a Referer. Not no-referrer,
    # which makes a browser send `Origin: null` with the button's POST, and Django's CSRF
    # check refuses that.
    response["Referrer-Policy"] = "same-origin"
    return response
