from django.contrib import admin

from alter_s006.admin import ReadOnlyAdmin
from outbox.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "recipient",
        "email",
        "role",
        "subject_line",
        "sent_at",
        "failure_reason",
    ]
    list_filter = ["kind", "role"]
