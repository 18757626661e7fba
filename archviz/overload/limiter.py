"""The limiter switch of the doubled-load scenario, on the admin's Node rows (desired state;
the supervisor applies them live): "off" sets every node's HTTP admission to none and its
thresholds to 100 % (never reject, never shed); "on" restores each node's values from before.

The values from before are kept in Redis (keys.LIMITER_SAVED) until restored, and are saved
only once: switching off twice must not save the 100s as the values to come back to."""

import json

from django.apps import apps

from archviz.core.redis_conn import shared_client
from archviz.overload import keys as overload_keys

SAVED_FIELDS = ("admission", "reject_above", "shed_above")
OFF = {"admission": "none", "reject_above": 100, "shed_above": 100}


def _nodes():
    return apps.get_model("dashboard", "Node").objects.all()


def switch_off() -> list[str]:
    """Every node's limiter off; returns the nodes changed."""
    client = shared_client()
    changed = []
    for row in _nodes():
        saved = {f: getattr(row, f) for f in SAVED_FIELDS}
        client.hsetnx(overload_keys.LIMITER_SAVED, row.name, json.dumps(saved))
        for field, value in OFF.items():
            setattr(row, field, value)
        row.save(update_fields=list(OFF))
        changed.append(row.name)
    return changed


def switch_on() -> list[str]:
    """Every node back to its values from before `switch_off` (nodes added since keep theirs)."""
    client = shared_client()
    saved = client.hgetall(overload_keys.LIMITER_SAVED)
    changed = []
    for row in _nodes():
        values = _saved_values(saved.get(row.name.encode()))
        if values is None:
            continue
        for field, value in values.items():
            setattr(row, field, value)
        row.save(update_fields=list(values))
        changed.append(row.name)
    client.delete(overload_keys.LIMITER_SAVED)
    return changed


def _saved_values(raw: bytes | None) -> dict | None:
    try:
        values = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(values, dict):
        return None
    return {f: values[f] for f in SAVED_FIELDS if f in values}


def set_shed_policy(policy: str) -> list[str]:
    """Every node's shedding policy (checked against shedding.SHED_POLICIES by the caller)."""
    rows = list(_nodes())
    for row in rows:
        row.shed_policy = policy
        row.save(update_fields=["shed_policy"])
    return [row.name for row in rows]
