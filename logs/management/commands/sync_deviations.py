"""Raise the protocol deviations the stored data show, for every active subject."""

from django.core.management.base import BaseCommand

from logs import services


class Command(BaseCommand):
    help = (
        "Raise the protocol deviations the data show (out-of-window visits, anlotinib "
        "dispensed during an interruption, prohibited medications on treatment) for every "
        "active subject; idempotent."
    )

    def handle(self, *args, **options):
        raised = 0
        subjects = 0
        for subject in services.active_subjects().iterator():
            raised += len(services.sync_deviations(subject))
            subjects += 1
        self.stdout.write(f"{subjects} subjects checked, {raised} deviations raised.")
