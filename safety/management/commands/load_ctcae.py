"""Load (or refresh) the CTCAE v4.03 dictionary shipped in ``safety/data``; idempotent."""

from django.core.management.base import BaseCommand

from safety import ctcae
from safety.services import load_ctcae


class Command(BaseCommand):
    help = "Load the CTCAE v4.03 terms from safety/data/ctcae_v4.03.csv (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--path", default=str(ctcae.DATA_FILE), help="The dictionary CSV (default: shipped)"
        )

    def handle(self, *args, path, **options):
        created, updated = load_ctcae(path)
        self.stdout.write(f"CTCAE terms: {created} created, {updated} updated.")
