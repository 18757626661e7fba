from django.contrib import admin

from archviz.dashboard.models import Consumer, Node


@admin.register(Node)
class NodeAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "weight", "capacity", "latency_ms", "jitter_ms"]
    list_editable = ["enabled", "weight", "capacity", "latency_ms", "jitter_ms"]
    list_filter = ["enabled"]
    search_fields = ["name"]


@admin.register(Consumer)
class ConsumerAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "work_ms"]
    list_editable = ["enabled", "work_ms"]
    list_filter = ["enabled"]
    search_fields = ["name"]
