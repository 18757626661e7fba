from django.urls import path

from archviz.chat import pages

urlpatterns = [
    path("chat/", pages.chat, name="chat"),
    path("chat/room/<str:room>/", pages.chat_room, name="chat-room"),
    path("api/chat/state", pages.chat_state, name="api-chat-state"),
]
