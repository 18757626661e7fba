"""The queue page."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static

from archviz.core.pages import login_required, page_config
from archviz.queue.logic import CLAIM_IDLE_MS, MAX_DELIVERIES, MAX_JOB_WORK_MS
from archviz.queue.socket import JOBS_PER_USER, MAX_JOBS_PER_REQUEST
from archviz.queue.streams import MAX_STREAM_JOBS


def queue_page(request: HttpRequest) -> HttpResponse:
    """The message-queue demo: producers, the stream, consumers, scenarios, and queue vs LB."""
    if redirect := login_required(request):
        return redirect
    config = page_config(request) | {
        "plotly_url": static("archviz/vendor/plotly.min.js"),
        "max_job_ms": MAX_JOB_WORK_MS,
        "max_deliveries": MAX_DELIVERIES,
        "claim_idle_ms": CLAIM_IDLE_MS,
        "max_jobs_per_request": MAX_JOBS_PER_REQUEST,
        "max_stream_jobs": MAX_STREAM_JOBS,
        "jobs_per_user": JOBS_PER_USER[0],
        "jobs_burst": JOBS_PER_USER[1],
    }
    return render(request, "archviz/queue.html", {"page_config": config})
