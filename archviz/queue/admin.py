from django.contrib import admin

from archviz.queue.models import Consumer


@admin.register(Consumer)
class ConsumerAdmin(admin.ModelAdmin):
    list_display = ["name", "enabled", "work_ms"]
    list_editable = ["enabled", "work_ms"]
    list_filter = ["enabled"]
    search_fields = ["name"]
