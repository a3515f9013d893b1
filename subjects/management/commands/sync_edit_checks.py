"""Run the edit checks that time passing makes fail (visit windows closed with nothing
recorded, CRFs incomplete days after their visit) and compliance, for every subject."""

from django.core.management.base import BaseCommand

from alter_s006.edit_check_runs import sync_all


class Command(BaseCommand):
    help = (
        "Raise and close the system queries of the whole-subject edit checks (visit missed, "
        "CRF incomplete after the visit, compliance out of range) at each site's today; "
        "idempotent. Celery beat runs it as subjects.tasks.sync_edit_checks."
    )

    def handle(self, *args, **options):
        self.stdout.write(f"{sync_all()} subjects checked.")
