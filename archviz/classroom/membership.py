"""A learner's membership of the class, kept in their own Django session."""

from django.http import HttpRequest

SESSION_KEY = "class"


def of(request: HttpRequest, class_id: str) -> dict | None:
    """{id, member, name} when this session joined the class `class_id`, else None."""
    membership = request.session.get(SESSION_KEY)
    if isinstance(membership, dict) and membership.get("id") == class_id:
        return membership
    return None


def keep(request: HttpRequest, class_id: str, member: str, name: str) -> None:
    request.session[SESSION_KEY] = {"id": class_id, "member": member, "name": name}


def forget(request: HttpRequest) -> dict | None:
    return request.session.pop(SESSION_KEY, None)
