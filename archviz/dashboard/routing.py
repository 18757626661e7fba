from django.urls import path

from archviz.dashboard.consumers import LabConsumer

websocket_urlpatterns = [
    path("ws/lab/", LabConsumer.as_asgi()),
]
