from django.core.management.commands.flush import Command as FlushCommand

from audit.db_roles import owner_mode


class Command(FlushCommand):
    """Django's flush, run as the owner role: only the owner may TRUNCATE the audit trail."""

    def handle(self, **options):
        with owner_mode():
            return super().handle(**options)
