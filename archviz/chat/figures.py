"""Chat's live figures a lesson may wait on, read from the chat pages' view (view.py)."""

from archviz.core.hooks import LiveFigure


def _ledger(field: str):
    return lambda view: sum(room["ledger"].get(field, 0) for room in view["rooms"])


FIGURES: dict[str, LiveFigure] = {
    "chat.mode": LiveFigure("chat's mode (local or redis)", lambda view: view["mode"]),
    "chat.sent": LiveFigure("chat messages sent, every room", _ledger("sent")),
    "chat.delivered": LiveFigure("chat deliveries, every room", _ledger("delivered")),
    "chat.missed": LiveFigure(
        "deliveries missed: sent on another node in local mode", _ledger("missed_local")
    ),
    "chat.members": LiveFigure(
        "people online in chat rooms (each counted once per room)",
        lambda view: sum(len({m.get("user") for m in r["members"]}) for r in view["rooms"]),
    ),
    "chat.nodes": LiveFigure(
        "nodes holding someone in the busiest room",
        lambda view: max((len(r["nodes"]) for r in view["rooms"]), default=0),
    ),
    "chat.bots": LiveFigure("chat bots talking", lambda view: (view["bots"] or {}).get("total", 0)),
}
