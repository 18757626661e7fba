from django.contrib import admin

from archviz.dashboard.models import Node


@admin.register(Node)
class NodeAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "weight", "capacity", "latency_ms", "jitter_ms"]
    list_display += ["ws_limit", "reject_above", "shed_above", "admission", "shed_policy"]
    list_editable = list_display[1:]
    list_filter = ["enabled"]
    search_fields = ["name"]
