from django.urls import path

from archviz.gateway import pages

urlpatterns = [
    path("gateway/", pages.gateway_page, name="gateway"),
]
