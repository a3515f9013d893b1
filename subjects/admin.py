from django.contrib import admin

from alter_s006.admin import ReadOnlyAdmin
from subjects.models import StatusChange, Subject, Visit


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
