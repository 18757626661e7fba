from django.urls import path

from archviz.overload import pages

urlpatterns = [
    path("overload/", pages.overload_page, name="overload"),
]
