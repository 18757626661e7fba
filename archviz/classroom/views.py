"""The class's pages: the instructor's screen (code, link, QR code, roster), the learners'
join form and link, and the instructor's commands over HTTP (checked like the socket's)."""

import contextlib
import json

import redis
import segno
from asgiref.sync import async_to_sync
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from archviz.classroom import commands, membership, rules, store
from archviz.core.instructor import PERMISSION, ControlRefused
from archviz.core.pages import login_required, page_config
from archviz.core.redis_conn import shared_client

ONLY_INSTRUCTORS = "only instructors (permission control_lab) can start or run a class"
NO_REDIS = "Redis is not answering: the class is out of reach; try again in a moment"


def class_page(request: HttpRequest) -> HttpResponse:
    """The instructor's screen: start a class, or show its code large, with the roster."""
    if response := login_required(request):
        return response
    if not request.user.has_perm(PERMISSION):
        return redirect("class-join")
    try:
        running = store.current(shared_client())
    except redis.RedisError:
        return render(request, "archviz/classroom/class.html", {"problem": NO_REDIS}, status=503)
    context = {"running": running, "page_config": page_config(request)}
    if running:
        link = request.build_absolute_uri(reverse("class-join-code", args=[running["code"]]))
        context |= {
            "link": link,
            "code_spaced": f"{running['code'][:3]} {running['code'][3:]}",
            # a full QR code (never a micro one, which some phones' cameras do not read)
            "qr_svg": segno.make_qr(link, error="m").svg_inline(
                omitsize=True, title="QR code of the link"
            ),
        }
    return render(request, "archviz/classroom/class.html", context)


@require_POST
def start_class(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(PERMISSION):
        return HttpResponse(ONLY_INSTRUCTORS, status=403, content_type="text/plain")
    try:
        store.start(shared_client(), request.user.get_username())
    except redis.RedisError:
        return HttpResponse(NO_REDIS, status=503, content_type="text/plain")
    return redirect("class")


@require_POST
def end_class(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm(PERMISSION):
        return HttpResponse(ONLY_INSTRUCTORS, status=403, content_type="text/plain")
    try:
        store.end(shared_client())
    except redis.RedisError:
        return HttpResponse(NO_REDIS, status=503, content_type="text/plain")
    return redirect("class")


def join(request: HttpRequest, code: str = "") -> HttpResponse:
    """The join form (GET), with the code when it came from the link; joining (POST)."""
    if response := login_required(request):
        return response
    typed = request.POST.get("code", code) if request.method == "POST" else code
    name = request.POST.get("name", "") if request.method == "POST" else ""
    context = {"code": typed, "name": name}
    if request.method != "POST":
        if code:  # a link's code is checked at once: a stale link says so before the name
            context["problem"] = _code_problem(code)
        return render(request, "archviz/classroom/join.html", context)
    try:
        joined = rules.normalise_code(typed)
        shown = rules.display_name(name)
        class_id, member = store.join(shared_client(), joined, shown)
    except rules.BadInput as bad:
        return render(
            request, "archviz/classroom/join.html", context | {"problem": str(bad)}, status=400
        )
    except redis.RedisError:
        return render(
            request, "archviz/classroom/join.html", context | {"problem": NO_REDIS}, status=503
        )
    membership.keep(request, class_id, member, shown)
    return redirect(_where_the_class_is(class_id))


@require_POST
def leave(request: HttpRequest) -> HttpResponse:
    left = membership.forget(request)
    if left:  # Redis away: their session forgot it; the roster shows them dropped
        with contextlib.suppress(redis.RedisError):
            store.leave(shared_client(), left["id"], left["member"])
    return redirect("class-join")


@require_POST
def command(request: HttpRequest) -> JsonResponse:
    """A class command as JSON ({"type": "class.goto", ...}), as on the lab socket."""
    if not request.user.has_perm(PERMISSION):  # carry_out checks it too (and reads the user)
        return JsonResponse({"error": ONLY_INSTRUCTORS}, status=403)
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return JsonResponse({"error": 'send a JSON object: {"type": "class.…", …}'}, status=400)
    try:
        state = async_to_sync(commands.carry_out)(request.user, body)
    except ControlRefused as refused:
        return JsonResponse({"error": refused.reason}, status=refused.status)
    return JsonResponse({"state": {k: v for k, v in state.items() if k != "poll"}})


def _code_problem(code: str) -> str:
    try:
        joined = rules.normalise_code(code)
        if shared_client().get(store.keys.code(joined)) is None:
            return f"no class has the code {joined}: it may have ended; ask for the code again"
    except rules.BadInput as bad:
        return str(bad)
    except redis.RedisError:
        return NO_REDIS
    return ""


def _where_the_class_is(class_id: str) -> str:
    state = store.state_of(shared_client(), class_id) or {}
    where = state.get("where")
    if not where:
        return "/"
    return f"{where['path']}?lesson={where['lesson']}" if where["lesson"] else where["path"]
