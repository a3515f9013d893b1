from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from audit.backup import backup


class Command(BaseCommand):
    help = (
        "Back up the study database (pg_dump -Fc as the owner) after anchoring the audit "
        "chain; the checkpoints are copied beside the dump. See README, Backup and restore."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir", default=str(settings.BASE_DIR / "var" / "backups"), help="where to write"
        )

    def handle(self, *args, **options):
        dump, checkpoints = backup(Path(options["dir"]))
        self.stdout.write(self.style.SUCCESS(f"Backup written: {dump}"))
        self.stdout.write(f"Audit checkpoints copied to: {checkpoints}")
