"""The chat pages on the dashboard, and their JSON feed."""

import asyncio

import redis
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from archviz.chat.control import MAX_BOTS_PER_ROOM
from archviz.chat.rooms import BadInput, validate_room
from archviz.chat.store import LEDGER_FIELDS
from archviz.chat.view import read_chat_view
from archviz.core.pages import api_login_required, login_required, page_config
from archviz.core.redis_conn import shared_client


def chat(request: HttpRequest) -> HttpResponse:
    """The chat demo: your own client, rooms across nodes, presence, ledger, trace."""
    if redirect := login_required(request):
        return redirect
    config = page_config(request) | {"max_bots": MAX_BOTS_PER_ROOM, "room": "lobby"}
    context = {"page_config": config, "ledger_columns": LEDGER_FIELDS}
    return render(request, "archviz/chat.html", context)


def chat_room(request: HttpRequest, room: str) -> HttpResponse:
    """A standalone chat client for one room (another tab, or a phone)."""
    if redirect := login_required(request):
        return redirect
    try:
        validate_room(room)
    except BadInput as bad:
        raise Http404(str(bad)) from None
    config = page_config(request) | {"room": room}
    return render(request, "archviz/chat_room.html", {"page_config": config})


@require_GET
async def chat_state(request: HttpRequest) -> JsonResponse:
    """GET /api/chat/state: mode, rooms with their members by node, ledger, presence."""
    if refusal := await api_login_required(request):
        return refusal
    try:
        view = await asyncio.to_thread(read_chat_view, shared_client())
    except redis.RedisError as exc:
        return JsonResponse({"error": f"Redis unreachable: {exc}"}, status=503)
    return JsonResponse(view)
