from django.contrib import admin

from archviz.dashboard.models import Node


@admin.register(Node)
class NodeAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "weight", "capacity", "latency_ms", "jitter_ms"]
    list_editable = ["enabled", "weight", "capacity", "latency_ms", "jitter_ms"]
    list_filter = ["enabled"]
    search_fields = ["name"]
