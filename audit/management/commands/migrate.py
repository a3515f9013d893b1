from django.core.management.commands.migrate import Command as MigrateCommand

from audit.db_roles import owner_connection


class Command(MigrateCommand):
    """Django's migrate, run as the owner role (the app role cannot create tables)."""

    def handle(self, *args, **options):
        with owner_connection(options.get("database") or "default"):
            return super().handle(*args, **options)
