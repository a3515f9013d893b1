from django.contrib import admin

from alter_s006.admin import ReadOnlyAdmin
from queries.models import Query


@admin.register(Query)
class QueryAdmin(ReadOnlyAdmin):
    list_display = [
        "subject",
        "record_type",
        "record_id",
        "field",
        "edit_check",
        "status",
        "origin",
    ]
    list_filter = ["status", "origin", "edit_check"]
