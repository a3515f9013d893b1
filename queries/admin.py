from django.contrib import admin

from queries.models import Query
from subjects.admin import ReadOnlyAdmin


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
