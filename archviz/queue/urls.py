from django.urls import path

from archviz.queue import pages

urlpatterns = [
    path("queue/", pages.queue_page, name="queue"),
]
