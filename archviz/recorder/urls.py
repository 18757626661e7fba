from django.urls import path, re_path

from archviz.recorder import views

urlpatterns = [
    path("recorder/", views.recordings, name="recordings"),
    path("recorder/import", views.upload, name="recorder-import"),
    re_path(
        r"^recorder/(?P<name>[a-z0-9][a-z0-9_-]{0,39})/(?P<kind>recording\.jsonl\.gz|perfetto\.json)$",
        views.download,
        name="recorder-download",
    ),
    path("api/recorder/timeline", views.timeline_data, name="recorder-timeline"),
]
