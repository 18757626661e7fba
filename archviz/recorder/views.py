"""The recorder's HTTP side: the timeline's data for every page; for instructors, the
recordings page, downloads (.jsonl.gz, Chrome Trace JSON) and uploads (CSRF-checked)."""

import io
import json
import time

import redis
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from archviz.core.instructor import PERMISSION
from archviz.core.pages import login_required, page_config
from archviz.core.redis_conn import shared_client
from archviz.recorder import chrome, fileformat, timeline
from archviz.recorder.keys import IMPORTED
from archviz.recorder.source import Recording, recording_named


def _instructors_only(request: HttpRequest) -> HttpResponse | None:
    if redirect := login_required(request):
        return redirect
    if not request.user.has_perm(PERMISSION):
        return HttpResponse("only instructors (permission control_lab) can do that", status=403)
    return None


def _number(raw: str | None) -> int | None:
    return int(raw) if raw is not None and raw.isdigit() else None


@require_GET
def timeline_data(request: HttpRequest) -> JsonResponse:
    """GET /api/recorder/timeline?recording=live&start=<ms>&end=<ms>"""
    if login_required(request) is not None:
        return JsonResponse({"error": "login required"}, status=401)
    name = request.GET.get("recording", "live")
    try:
        found = recording_named(shared_client(), name)
        if found is None:
            return JsonResponse({"error": f"no recording named {name!r}"}, status=404)
        start, end = _number(request.GET.get("start")), _number(request.GET.get("end"))
        return JsonResponse(_summary(found, start, end))
    except redis.RedisError:
        return JsonResponse({"error": "Redis is not answering: no recording"}, status=503)


# Every open tab polls the unzoomed timeline: one summary per recording a few seconds, not
# one per tab (each reads up to MAX_BATCHES trace batches from Redis).
SHARED_FOR_S = 3.0
_shared: dict[str, tuple[float, dict]] = {}


def _summary(found: Recording, start: int | None, end: int | None) -> dict:
    now = time.monotonic()
    if start is None and end is None:
        cached = _shared.get(found.name)
        if cached is not None and now - cached[0] < SHARED_FOR_S:
            return cached[1]
    names = ["live", *sorted(n.decode() for n in found.client.smembers(IMPORTED))]
    summary = timeline.summarise(found, start, end) | {"recordings": names}
    if start is None and end is None:
        _shared[found.name] = (now, summary)
    return summary


def _recordings(client: redis.Redis) -> list[dict]:
    names = ["live", *sorted(n.decode() for n in client.smembers(IMPORTED))]
    found = []
    for name in names:
        recording = recording_named(client, name)
        span = recording.span() if recording else None
        found.append(
            {
                "name": name,
                "span": span,
                "seconds": round((span[1] - span[0]) / 1000, 1) if span else 0,
            }
        )
    return found


@require_GET
def recordings(request: HttpRequest) -> HttpResponse:
    """The recordings page: download one, or upload one recorded elsewhere."""
    if refused := _instructors_only(request):
        return refused
    return _page(request)


def _page(request: HttpRequest, error: str = "", status: int = 200) -> HttpResponse:
    try:
        found = _recordings(shared_client())
    except redis.RedisError:
        found, error = [], error or "Redis is not answering: no recordings"
    imported = request.GET.get("imported", "") if not error else ""
    context = {
        "recordings": found,
        "error": error,
        "page_config": page_config(request),
        "imported": imported,
        "entries": request.GET.get("entries", ""),
        "max_mb": fileformat.MAX_FILE_BYTES // (1024 * 1024),
    }
    return render(request, "archviz/recorder/recordings.html", context, status=status)


@require_GET
def download(request: HttpRequest, name: str, kind: str) -> HttpResponse:
    """GET /recorder/<name>/recording.jsonl.gz or /recorder/<name>/perfetto.json"""
    if refused := _instructors_only(request):
        return refused
    found = recording_named(shared_client(), name)
    if found is None:
        return HttpResponse(f"no recording named {name!r}", status=404)
    try:
        return _file(found, kind)
    except fileformat.RecordingError as exc:
        return HttpResponse(str(exc), status=409)


def _file(found: Recording, kind: str) -> HttpResponse:
    if kind == "perfetto.json":
        body = io.BytesIO(json.dumps(chrome.from_recording(found)).encode())
        filename = f"archviz-{found.name}.json"
        return FileResponse(body, as_attachment=True, filename=filename)
    out = io.BytesIO()
    fileformat.write(found, out)
    out.seek(0)
    return FileResponse(out, as_attachment=True, filename=f"archviz-{found.name}.jsonl.gz")


@require_POST
def upload(request: HttpRequest) -> HttpResponse:
    """POST /recorder/import (a form with its CSRF token): file and name."""
    if refused := _instructors_only(request):
        return refused
    sent = request.FILES.get("file")
    name = request.POST.get("name", "").strip()
    if sent is None:
        return _page(request, "choose a .jsonl.gz file to import", 400)
    if sent.size > fileformat.MAX_FILE_BYTES:
        return _page(request, f"the file is over {fileformat.MAX_FILE_BYTES} bytes", 400)
    try:
        _found, count = fileformat.import_file(shared_client(), sent.read(), name)
    except fileformat.RecordingError as exc:
        return _page(request, f"not imported: {exc}", 400)
    except redis.RedisError:
        return _page(request, "Redis is not answering: not imported", 503)
    return redirect(f"{reverse('recordings')}?imported={name}&entries={count}")
