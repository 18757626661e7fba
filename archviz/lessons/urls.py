from django.urls import path

from archviz.lessons import views

urlpatterns = [
    path("", views.course_page, name="home"),
    path("lessons/<slug:slug>/", views.lesson_page, name="lesson"),
    path("lessons/<slug:slug>/steps/<int:index>/start", views.start_step, name="lesson-start"),
    path("lessons/<slug:slug>/steps/<int:index>/watch", views.watch_step, name="lesson-watch"),
    path("lessons/<slug:slug>/steps/<int:index>/predict", views.predict, name="lesson-predict"),
    path("lessons/<slug:slug>/try/<int:index>", views.try_it, name="lesson-try"),
]
