from django.urls import path

from archviz.balancer import pages

urlpatterns = [
    path("lb/", pages.load_balancer, name="load-balancer"),
]
