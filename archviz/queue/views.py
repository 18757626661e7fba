"""The queue page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static

from archviz.dashboard.views import _login_required, _page_config
from archviz.lab.control import TRAFFIC_LIMITS
from archviz.queue.control import MAX_JOBS_PER_REQUEST
from archviz.queue.logic import CLAIM_IDLE_MS, MAX_DELIVERIES, MAX_JOB_WORK_MS


def queue_page(request: HttpRequest) -> HttpResponse:
    """The message-queue demo: producers, the stream, consumers, scenarios, and queue vs LB."""
    if redirect := _login_required(request):
        return redirect
    page_config = _page_config(request) | {
        "plotly_url": static("archviz/vendor/plotly.min.js"),
        "traffic_limits": {f: [low, high] for f, _kind, low, high in TRAFFIC_LIMITS},
        "max_job_ms": MAX_JOB_WORK_MS,
        "max_deliveries": MAX_DELIVERIES,
        "claim_idle_ms": CLAIM_IDLE_MS,
        "max_jobs_per_request": MAX_JOBS_PER_REQUEST,
    }
    return render(request, "archviz/queue.html", {"page_config": page_config})
