"""The cart's URLs on a worker node (registered in archviz/sessions/apps.py)."""

from django.urls import path

from archviz.sessions import views

urlpatterns = [
    path("", views.cart, name="cart"),
    path("items", views.items, name="cart-items"),
    path("clear", views.clear, name="cart-clear"),
]
