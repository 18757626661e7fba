from django.urls import path

from archviz.chat import views as chat_views
from archviz.dashboard import api, views
from archviz.queue.views import queue_page

urlpatterns = [
    path("", views.home, name="home"),
    path("lb/", views.load_balancer, name="load-balancer"),
    path("sessions/", views.sessions, name="sessions"),
    path("api/lab/state", api.lab_state, name="api-lab-state"),
    path("api/lab/nodes/<str:node>/<str:action>", api.node_command, name="api-node-command"),
    path("queue/", queue_page, name="queue"),
    path("chat/", chat_views.chat, name="chat"),
    path("chat/room/<str:room>/", chat_views.chat_room, name="chat-room"),
    path("api/chat/state", chat_views.chat_state, name="api-chat-state"),
]
