from django.contrib import admin

from subjects.models import StatusChange, Subject, Visit


class ReadOnlyAdmin(admin.ModelAdmin):
    """Clinical data is entered and corrected in the EDC pages (reason, version, audit)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Subject)
class SubjectAdmin(ReadOnlyAdmin):
    list_display = ["screening_number", "subject_number", "site", "status", "status_date"]
    list_filter = ["site", "status"]


@admin.register(Visit)
class VisitAdmin(ReadOnlyAdmin):
    list_display = ["subject", "code", "target_date", "actual_date", "missed"]
    list_filter = ["kind"]


@admin.register(StatusChange)
class StatusChangeAdmin(ReadOnlyAdmin):
    list_display = ["subject", "from_status", "to_status", "on_date", "by"]
