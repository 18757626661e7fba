"""The chat's WebSocket route on a worker node (registered in archviz/chat/apps.py)."""

from django.urls import re_path

from archviz.chat.consumer import ChatConsumer

websocket_urlpatterns = [
    # any room name reaches the consumer, which refuses bad ones in words
    re_path(r"^ws/chat/(?P<room>[^/]*)/?$", ChatConsumer.as_asgi()),
]
