from django.contrib import admin

from audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = [
        "chain_seq",
        "chain_key",
        "chain_pos",
        "occurred_at",
        "action",
        "table_name",
        "record_pk",
        "app_username",
        "reason",
    ]
    list_filter = ["action", "table_name"]
    search_fields = ["app_username", "record_pk", "reason"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
