"""The JSON API: the lab's state for tests and operators, and instructor commands."""

import asyncio

import redis
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET, require_POST

from archviz.core.pages import api_login_required
from archviz.core.redis_conn import shared_client
from archviz.dashboard.control import ControlRefused, request_control
from archviz.dashboard.state import read_lab_state, unreachable


@require_GET
async def lab_state(request: HttpRequest) -> JsonResponse:
    """GET /api/lab/state: Redis and every node, as the dashboard sees them now (it tells
    whether Redis is up and its memory, never its address)."""
    if refusal := await api_login_required(request):
        return refusal
    try:
        state = await asyncio.to_thread(read_lab_state, shared_client())
    except redis.RedisError:
        state = unreachable(None)
    return JsonResponse(state)


@require_POST
async def node_command(request: HttpRequest, node: str, action: str) -> JsonResponse:
    """POST /api/lab/nodes/<node>/<action>: kill, stop or restart (instructors only)."""
    user = await request.auser()
    try:
        await request_control(user, action, node)
    except ControlRefused as refused:
        return JsonResponse({"error": refused.reason}, status=refused.status)
    return JsonResponse({"ok": True, "action": action, "node": node}, status=202)
