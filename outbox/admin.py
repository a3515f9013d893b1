from django.contrib import admin

from outbox.models import Notification
from subjects.admin import ReadOnlyAdmin


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "kind", "recipient", "email", "role", "subject_line", "sent_at"]
    list_filter = ["kind", "role"]
