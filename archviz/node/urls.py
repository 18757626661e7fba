from django.urls import include, path

from archviz.node import views

urlpatterns = [
    path("health", views.health, name="node-health"),
    path("ping", views.ping, name="node-ping"),
    path("work", views.work, name="node-work"),
    path("cart/", include("archviz.sessions.urls")),
]
