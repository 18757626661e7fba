from django.urls import path

from archviz.dashboard import api, views

urlpatterns = [
    path("lab/", views.lab, name="lab"),
    path("health", views.health, name="dashboard-health"),
    path("api/lab/state", api.lab_state, name="api-lab-state"),
    path("api/lab/nodes/<str:node>/<str:action>", api.node_command, name="api-node-command"),
]
