"""The frames a class sends to tabs on the lab socket (mirrored in lib/protocol.js)."""

from typing import Literal, NotRequired, TypedDict


class ClassFrame(TypedDict):
    """The running class's whole state (None once it ended), published after each change and
    forwarded by every dashboard's feed to its tabs."""

    type: Literal["class"]
    # {id, seq, where: {path, lesson, step} | None, highlight, paused, poll}, where poll is
    # None or {lesson, step, question, choices, state: open | revealed, counts, reveal_html}
    state: dict | None
    ended: NotRequired[str]  # the class that ended (then `state` is None)


class ClassRosterFrame(TypedDict):
    """The instructor's answer to class.roster: who follows, who is free, who dropped."""

    type: Literal["class_roster"]
    roster: list  # [{name, state: following | free | dropped}]
    answered: int  # how many answered the open question
