from django.core.management.base import BaseCommand, CommandError

from audit.anchor import check_anchor, checkpoint_file, read_checkpoints
from audit.chain import unaudited_rows, verify_chain


class Command(BaseCommand):
    help = (
        "Verify the audit trail: the hash chain, the checkpoints anchored outside the "
        "database (AUDIT_CHECKPOINT_FILE, signed with AUDIT_HMAC_KEY), and that every "
        "clinical row has its audit events. Names the first problem found."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--require-checkpoint",
            action="store_true",
            help="fail when no checkpoint exists (production: a tail deletion is otherwise "
            "detectable only through clinical rows without their INSERT event)",
        )

    def handle(self, *args, **options):
        checked, broken = verify_chain()
        if broken is not None:
            raise CommandError(
                f"Audit chain BROKEN at row {broken.chain_seq}: {broken.problem} "
                f"({checked} rows before it verified)."
            )
        problem = check_anchor()
        if problem is not None:
            raise CommandError(
                f"Audit chain BROKEN at row {problem.chain_seq}: {problem.problem} "
                f"(checkpoints: {checkpoint_file()})."
            )
        missing = unaudited_rows()
        if missing:
            first = missing[0]
            raise CommandError(
                f"Audit trail INCOMPLETE: {first.table} row {first.pk} {first.problem}"
                f" ({len(missing)} such rows found)."
            )
        checkpoints = [cp for cp in read_checkpoints() if cp.chain_seq > 0]
        if checkpoints:
            last = checkpoints[-1]
            anchored = (
                f"; anchored: {len(checkpoints)} checkpoints, the latest at row "
                f"{last.chain_seq} ({last.written_at})"
            )
        elif options["require_checkpoint"]:
            raise CommandError(f"No audit checkpoint in {checkpoint_file()}.")
        else:
            anchored = "; no checkpoint yet (manage.py audit_checkpoint writes one)"
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact: {checked} rows verified{anchored}.")
        )
