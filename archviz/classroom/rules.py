"""A class's pure rules: join codes, display names, where a tab may be sent, who dropped."""

import re
import secrets

# no look-alikes: no 0/O, 1/I/L, 2/Z, 5/S, 8/B
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 6
NAME_MAX = 40
DROPPED_AFTER_MS = 6000  # a tab heard from less recently than this has dropped
HEARTBEAT_MS = 2000  # how often a member's tab says it is there (the bar's script)
MODES = ("follow", "free")
# an in-lab page: a path of the dashboard, never another site nor a scheme
_PATH = re.compile(r"/(?:[a-z0-9_-]+/)*")
_SLUG = re.compile(r"[a-z0-9-]{1,64}")
# a highlight names an element by its id only: the bar looks it up with getElementById
_ELEMENT_ID = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
# pages a class is never sent to: the class's own (a learner's is the join form), logging in
NOT_FOLLOWED = ("/class/", "/accounts/", "/admin/")


class BadInput(ValueError):
    """The input is refused; the message says why, in words for the user."""


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(typed: str) -> str:
    """The code as typed on a phone (any case, spaces or dashes) in its canonical form."""
    code = re.sub(r"[\s-]", "", typed or "").upper()
    if len(code) != CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        raise BadInput(f"a class code is {CODE_LENGTH} letters and digits, like ACD 347")
    return code


def display_name(typed: str) -> str:
    name = " ".join((typed or "").split())
    if not name:
        raise BadInput("type the name the instructor will see")
    if len(name) > NAME_MAX:
        raise BadInput(f"a name is at most {NAME_MAX} characters")
    if any(not c.isprintable() for c in name):
        raise BadInput("a name is letters, digits, spaces and punctuation only")
    return name


def where(path: object, lesson: object, step: object) -> dict:
    """Where the instructor is, checked: a dashboard path, an optional lesson and step."""
    if not isinstance(path, str) or not _PATH.fullmatch(path) or len(path) > 200:
        raise BadInput("path must be a page of the lab, like /lb/")
    if path.startswith(NOT_FOLLOWED):
        raise BadInput(f"the class does not follow you to {path}: only to the lab's pages")
    if lesson in (None, ""):
        return {"path": path, "lesson": None, "step": None}
    if not isinstance(lesson, str) or not _SLUG.fullmatch(lesson):
        raise BadInput("lesson must be a lesson's slug")
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= 100:
        raise BadInput("step must be a step's number, from 0")
    return {"path": path, "lesson": lesson, "step": step}


def highlight(element: object) -> str | None:
    if element in (None, ""):
        return None
    if not isinstance(element, str) or not _ELEMENT_ID.fullmatch(element):
        raise BadInput("a highlight is an element's id")
    return element


def roster(names: dict[str, str], seen: dict[str, dict], now_ms: int) -> list[dict]:
    """Each member with their state: following, free, or dropped (no heartbeat lately)."""
    rows = []
    for token, name in names.items():
        last = seen.get(token)
        if last is None or now_ms - last.get("ms", 0) > DROPPED_AFTER_MS:
            state = "dropped"
        else:
            state = "following" if last.get("mode") == "follow" else "free"
        rows.append({"name": name, "state": state})
    return sorted(rows, key=lambda row: (row["state"], row["name"].casefold()))


def tally(choices: list[str], answers: list[int]) -> list[int]:
    """How many answered each choice (answers out of range are not counted)."""
    counts = [0] * len(choices)
    for answer in answers:
        if 0 <= answer < len(choices):
            counts[answer] += 1
    return counts
