"""The Redis keys of the dashboard itself (the lab's are in archviz/core/keys.py)."""


def login_failures(scope: str, who: str) -> str:
    """Failed log-ins of one username or one address (scope "user" or "ip"), counting down
    to their expiry: the login throttle."""
    return f"archviz:login:failures:{scope}:{who}"
