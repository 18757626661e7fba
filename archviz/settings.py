"""Settings for archviz: one file, every value from the environment via archviz.conf."""

from importlib.util import find_spec
from pathlib import Path

from archviz.conf import (
    env_bool,
    env_buffer_limit,
    env_choice,
    env_int,
    env_port,
    env_redis_url,
    env_str,
    kept_secret,
)
from archviz.log_filters import AIOHTTP_LOGGERS, redact_tokens, skip_refusals

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("ARCHVIZ_VAR_DIR", str(BASE_DIR / "var")))


def _secret_key() -> str:
    """ARCHVIZ_SECRET_KEY, else one generated on first run and kept in var/."""
    return env_str("ARCHVIZ_SECRET_KEY", "") or kept_secret(VAR_DIR / "secret_key", 50)


SECRET_KEY = _secret_key()
DEBUG = env_bool("ARCHVIZ_DEBUG", False)
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"] + [
    h for h in env_str("ARCHVIZ_ALLOWED_HOSTS", "").split(",") if h
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "archviz.lab",
    "archviz.dashboard",
    "archviz.node",
    "archviz.balancer",
    "archviz.traffic",
    "archviz.sessions",
    "archviz.chat",
    "archviz.queue",
    "archviz.gateway",
    "archviz.overload",
    "archviz.lessons",
    "archviz.recorder",
    "archviz.classroom",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "archviz.urls"
ASGI_APPLICATION = "archviz.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "archviz.lessons.context.lesson_panel",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": env_str("ARCHVIZ_DB_PATH", str(VAR_DIR / "archviz.sqlite3")),
        # The supervisor and the dashboard share the file; wait rather than fail on a lock.
        "OPTIONS": {"timeout": 20},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Plotly.js from the installed plotly package: the lab works offline, with no CDN.
    # (Located without importing plotly, which would slow every process's start.)
    ("archviz/vendor", Path(find_spec("plotly").origin).parent / "package_data"),
]

# The dashboard's own WebSockets fan out through Redis pub/sub read by each process
# (archviz.dashboard.feed), so the dashboard needs no channel layer; the demos that
# teach channel layers configure theirs on the nodes.
CHANNEL_LAYERS: dict = {}

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}},
    "filters": {
        "skip_refusals": {
            "()": "django.utils.log.CallbackFilter",
            "callback": skip_refusals,
        },
        "redact_tokens": {"()": "django.utils.log.CallbackFilter", "callback": redact_tokens},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["skip_refusals", "redact_tokens"],
        }
    },
    "loggers": {
        "archviz": {
            "handlers": ["console"],
            "level": env_choice("ARCHVIZ_LOG_LEVEL", "INFO", LOG_LEVELS),
        },
        "django": {"handlers": ["console"], "level": "WARNING"},
        # No handler of their own (they reach the terminal as before): only the redaction.
        **{name: {"filters": ["redact_tokens"]} for name in AIOHTTP_LOGGERS},
    },
}

# --- archviz ---
ARCHVIZ_HOST = env_str("ARCHVIZ_HOST", "127.0.0.1")
ARCHVIZ_DASHBOARD_PORT = env_port("ARCHVIZ_DASHBOARD_PORT", 8000)
# Dashboard processes the lab runs (issue 14): with more than one they listen on free ports
# behind the load balancer's dashboards listener, which takes ARCHVIZ_DASHBOARD_PORT.
ARCHVIZ_DASHBOARDS = env_int("ARCHVIZ_DASHBOARDS", 1, minimum=1, maximum=16)
# Nodes take consecutive ports from this one (0: each picks a free port).
ARCHVIZ_NODE_PORT = env_port("ARCHVIZ_NODE_PORT", 8101)
ARCHVIZ_LB_PORT = env_port("ARCHVIZ_LB_PORT", 8100)
# The load balancer's second listener, over the gateway replicas (issue 11).
ARCHVIZ_GATEWAY_PORT = env_port("ARCHVIZ_GATEWAY_PORT", 8200)
# The balancer's third listener, straight to the catalog replicas (bypassing the gateway, for
# the side by side); 0: a free one, which the balancer's metrics name.
ARCHVIZ_SERVICES_PORT = env_port("ARCHVIZ_SERVICES_PORT", 0)
# None: the lab starts an embedded redis-server and hands its URL to every child.
ARCHVIZ_REDIS_URL = env_redis_url("REDIS_URL")
# Where the embedded Redis listens: loopback, whatever ARCHVIZ_HOST is, unless other machines
# must share it (a class's scale-out dashboards), with the password.
ARCHVIZ_REDIS_HOST = env_str("ARCHVIZ_REDIS_HOST", "127.0.0.1")
# The embedded Redis's memory cap; at the cap writes fail (noeviction): nothing is evicted.
ARCHVIZ_REDIS_MAXMEMORY_MB = env_int("ARCHVIZ_REDIS_MAXMEMORY_MB", 256, minimum=16, maximum=1 << 20)
# When the embedded Redis closes a pub/sub subscriber too slow to read ("" keeps Redis's
# default, 32mb 8mb 60: at 32 MB waiting, or 8 MB for 60 s); its closes are counted and shown.
ARCHVIZ_REDIS_PUBSUB_BUFFER_LIMIT = env_buffer_limit("ARCHVIZ_REDIS_PUBSUB_BUFFER_LIMIT", "")
# The flight recorder's streams, capped by size as Redis counts it (MEMORY USAGE): the trace
# log, and the state keyframes (one a second). The oldest entries go first (README).
ARCHVIZ_RECORDER_TRACE_MB = env_int("ARCHVIZ_RECORDER_TRACE_MB", 48, minimum=1, maximum=4096)
ARCHVIZ_RECORDER_KEYFRAMES_MB = env_int(
    "ARCHVIZ_RECORDER_KEYFRAMES_MB", 16, minimum=1, maximum=4096
)
# The embedded Redis's password, generated on the lab's first start and kept beside the
# secret key (only the lab and `manage.py signin_link` read it: every other process gets it
# inside REDIS_URL).
REDIS_PASSWORD_FILE = VAR_DIR / "redis_password"
# Where the running lab's embedded Redis listens (its URL without the password), written at
# its start for the commands run beside the lab (`manage.py signin_link`).
REDIS_ADDRESS_FILE = VAR_DIR / "redis_address"

# The course: one YAML file per lesson (README: "Writing a lesson"), checked when the lab starts.
ARCHVIZ_LESSONS_DIR = Path(env_str("ARCHVIZ_LESSONS_DIR", str(BASE_DIR / "lessons")))
ARCHVIZ_REQUIRE_LOGIN = env_bool("ARCHVIZ_REQUIRE_LOGIN", False)
# A node that crashes this many times in a row (each within 10 s of starting) is given up on.
ARCHVIZ_RESTART_MAX_CRASHES = env_int("ARCHVIZ_RESTART_MAX_CRASHES", 5, minimum=1, maximum=100)
# Seconds a client's idle keep-alive connection stays open at the load balancer.
ARCHVIZ_LB_IDLE_TIMEOUT_S = env_int("ARCHVIZ_LB_IDLE_TIMEOUT", 15, minimum=1, maximum=3600)
# Client connections the load balancer holds open at once (WebSockets included); past this a
# new one is answered 503. Keep it under the open-file limit: a proxied WebSocket takes two.
ARCHVIZ_LB_MAX_CONNECTIONS = env_int("ARCHVIZ_LB_MAX_CONNECTIONS", 1000, minimum=1, maximum=100_000)

# The sessions demo (archviz.sessions): the cart's sessions live in a per-process LocMemCache
# or in Redis. Short commands only (GET/SET, never a blocking read), so the Redis cache keeps
# short, explicit timeouts: a dead Redis is an error within a second, not a 5 s hang.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "sessions-local": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "archviz-sessions",
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    },
    "sessions-redis": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # archviz.sessions.stores connects to the lab's Redis (REDIS_URL) when first used.
        "LOCATION": ARCHVIZ_REDIS_URL or "",
        "KEY_PREFIX": "archviz:sessions",  # archviz.sessions.keys.CACHE_PREFIX
        "OPTIONS": {"socket_timeout": 1.0, "socket_connect_timeout": 1.0},
    },
}
