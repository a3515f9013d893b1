from django.contrib import admin

from alter_s006.admin import ReadOnlyAdmin
from queries.models import Query, QueryMessage


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


@admin.register(QueryMessage)
class QueryMessageAdmin(ReadOnlyAdmin):
    """A thread message: read only here, and never changed or deleted by the database."""

    list_display = ["query", "action", "author", "author_role", "created_at"]
    list_filter = ["action", "author_role"]
