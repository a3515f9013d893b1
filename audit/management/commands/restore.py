import io
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.test.utils import override_settings

from audit.backup import restore


class Command(BaseCommand):
    help = (
        "Restore a backup into a NEW database, re-install the audit triggers and grants, "
        "and verify the audit chain against the checkpoints saved with the dump."
    )

    def add_arguments(self, parser):
        parser.add_argument("dump", help="the .dump file written by ./run backup")
        parser.add_argument("--database-name", required=True, help="the new database's name")

    def handle(self, *args, **options):
        dump = Path(options["dump"])
        if not dump.is_file():
            raise CommandError(f"No such backup: {dump}")
        checkpoints = dump.with_suffix(".checkpoints.jsonl")
        name = options["database_name"]
        try:
            restore(dump, name)
        except (FileExistsError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Restored {dump.name} into database {name}.")
        default = connections["default"]
        original = default.settings_dict["NAME"]
        default.close()
        default.settings_dict["NAME"] = name
        try:
            call_command("migrate", verbosity=0, interactive=False)
            report = io.StringIO()
            settings_override = (
                {"AUDIT_CHECKPOINT_FILE": checkpoints} if checkpoints.exists() else {}
            )
            with override_settings(**settings_override):
                call_command("verify_audit_chain", stdout=report)
        finally:
            default.close()
            default.settings_dict["NAME"] = original
        self.stdout.write(report.getvalue().strip())
        self.stdout.write(
            self.style.SUCCESS(
                f"Point DATABASE_URL and DATABASE_OWNER_URL at {name} to serve the restored data."
            )
        )
