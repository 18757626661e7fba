from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from archviz.dashboard.login import ThrottledLoginView
from archviz.dashboard.solo import solo

urlpatterns = [
    # The admin's own log-in form is not throttled: it sends people to the one that is.
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True)),
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/solo/<str:token>", solo, name="solo"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("favicon.ico", RedirectView.as_view(url=static("archviz/favicon.svg"))),
    path("", include("archviz.lessons.urls")),
    path("", include("archviz.classroom.urls")),
    path("", include("archviz.dashboard.urls")),
    path("", include("archviz.balancer.urls")),
    path("", include("archviz.sessions.urls")),
    path("", include("archviz.chat.urls")),
    path("", include("archviz.queue.urls")),
    path("", include("archviz.gateway.urls")),
    path("", include("archviz.overload.urls")),
    path("", include("archviz.recorder.urls")),
]
