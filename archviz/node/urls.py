"""A worker node's URLs: its own endpoints, then those the apps register (the cart)."""

from django.urls import include, path

from archviz.core import hooks
from archviz.node import views

urlpatterns = [
    path("health", views.health, name="node-health"),
    path("ping", views.ping, name="node-ping"),
    path("work", views.work, name="node-work"),
] + [
    path(routes.http_prefix, include(routes.http_urls))
    for routes in hooks.node_routes()
    if routes.http_urls
]
