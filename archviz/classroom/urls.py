from django.urls import path

from archviz.classroom import views

urlpatterns = [
    path("class/", views.class_page, name="class"),
    path("class/start/", views.start_class, name="class-start"),
    path("class/end/", views.end_class, name="class-end"),
    path("class/join/", views.join, name="class-join"),
    path("class/join/<str:code>/", views.join, name="class-join-code"),
    path("class/leave/", views.leave, name="class-leave"),
    path("class/command/", views.command, name="class-command"),
]
