from django.core.management.commands.migrate import Command as MigrateCommand

from audit.db_roles import owner_mode


class Command(MigrateCommand):
    """Django's migrate, run as the owner role (the app role cannot create tables)."""

    def handle(self, *args, **options):
        with owner_mode():
            return super().handle(*args, **options)
