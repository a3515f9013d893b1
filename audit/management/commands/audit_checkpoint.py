from django.core.management.base import BaseCommand, CommandError

from audit.anchor import AnchorRefused, checkpoint_file, write_checkpoint


class Command(BaseCommand):
    help = (
        "Anchor the audit chains outside the database: verify the events since the last "
        "checkpoint, then append a signed checkpoint (every chain's head: the study-level "
        "chain and each subject's) to AUDIT_CHECKPOINT_FILE. Celery beat does this every "
        "AUDIT_CHECKPOINT_MINUTES."
    )

    def handle(self, *args, **options):
        try:
            checkpoint = write_checkpoint()
        except AnchorRefused as exc:
            raise CommandError(f"Not anchored: the audit trail does not verify at {exc}") from exc
        if checkpoint is None:
            self.stdout.write("Nothing new to anchor.")
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Checkpoint of {checkpoint.chains} chains ({len(checkpoint.heads)} grew; "
                    f"digest {checkpoint.digest[:16]}…) written to {checkpoint_file()}."
                )
            )
