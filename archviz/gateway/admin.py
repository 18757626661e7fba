from django.contrib import admin

from archviz.gateway.models import GatewayProcess


@admin.register(GatewayProcess)
class GatewayProcessAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "enabled"]
    list_editable = ["enabled"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name"]
