from django.core.management.base import BaseCommand, CommandError

from audit.anchor import AnchorRefused, checkpoint_file, write_checkpoint


class Command(BaseCommand):
    help = (
        "Anchor the audit chain outside the database: verify the rows since the last "
        "checkpoint, then append a signed checkpoint (position + hash of the newest row) "
        "to AUDIT_CHECKPOINT_FILE. Celery beat does this every AUDIT_CHECKPOINT_MINUTES."
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
                    f"Checkpoint at row {checkpoint.chain_seq} ({checkpoint.row_hash[:16]}…) "
                    f"written to {checkpoint_file()}."
                )
            )
