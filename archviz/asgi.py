"""The dashboard's ASGI application: pages and API over HTTP, the lab feed over WebSocket."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "archviz.settings")

from django.core.asgi import get_asgi_application

django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler  # noqa: E402

from archviz.core import labsocket  # noqa: E402
from archviz.core.forwarded import ForwardedClient  # noqa: E402
from archviz.core.origin_validator import DashboardOriginValidator  # noqa: E402
from archviz.dashboard.routing import websocket_urlpatterns  # noqa: E402

labsocket.load_handlers()  # the apps' socket handlers, before the first learner's frame

# Behind the lab's balancer (ARCHVIZ_DASHBOARDS > 1), the client is the one it relays.
application = ForwardedClient(
    ProtocolTypeRouter(
        {
            # daphne serves the static files itself: the lab is one command, no web server.
            "http": ASGIStaticFilesHandler(django_application),
            # Only pages from the dashboard's own origins (scheme, host and port) may connect.
            "websocket": DashboardOriginValidator(
                AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
            ),
        }
    )
)
