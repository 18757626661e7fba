from django.urls import path

from archviz.sessions import pages

urlpatterns = [
    path("sessions/", pages.sessions, name="sessions"),
]
