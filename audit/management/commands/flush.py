from django.core.management.commands.flush import Command as FlushCommand

from audit.db_roles import owner_connection


class Command(FlushCommand):
    """Django's flush, run as the owner role: only the owner may TRUNCATE the audit trail."""

    def handle(self, **options):
        with owner_connection(options.get("database") or "default"):
            return super().handle(**options)
