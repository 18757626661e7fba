"""`{% class_bar %}`: the bar a class shows on every page, for its instructor and members."""

from urllib.parse import quote

import redis
from django import template
from django.core.exceptions import ImproperlyConfigured
from django.middleware.csrf import get_token
from django.templatetags.static import static
from django.urls import reverse

from archviz.classroom import membership, rules, store
from archviz.core.instructor import PERMISSION
from archviz.core.redis_conn import shared_client

register = template.Library()


@register.inclusion_tag("archviz/classroom/_bar_body.html", takes_context=True)
def class_bar(context: template.Context) -> dict:
    request = context.get("request")
    if request is None or request.path.startswith(("/admin/", "/accounts/")):
        return {}
    try:
        running = store.current(shared_client())
    except (redis.RedisError, ImproperlyConfigured):  # Redis away, or none (outside a lab)
        return {}
    if running is None:
        return {}
    instructor = request.user.has_perm(PERMISSION)
    member = None if instructor else membership.of(request, running["id"])
    if not instructor and member is None:
        return {}
    state = store.public(running)
    return {
        "class_bar": {
            "role": "instructor" if instructor else "member",
            "member": member["member"] if member else None,
            "name": member["name"] if member else None,
            "code": running["code"] if instructor else None,
            "state": state,
            "ws_path": "/ws/lab/?frames=forwarded&page=" + quote(request.path),
            "heartbeat_ms": rules.HEARTBEAT_MS,
            "urls": {"class": reverse("class"), "command": reverse("class-command")},
            "plotly_url": static("archviz/vendor/plotly.min.js"),
        },
        "csrf_token": get_token(request),
    }
