from django.core.management.base import BaseCommand, CommandError

from audit.anchor import (
    Checkpoint,
    LegacyCheckpoint,
    check_anchor,
    checkpoint_file,
    read_checkpoints,
)
from audit.chain import (
    chain_label,
    unaudited_rows,
    verify_chain,
    verify_legacy_chain,
    verify_subject_chain,
)


class Command(BaseCommand):
    help = (
        "Verify the audit trail: every hash chain (the study-level chain and one per "
        "subject), the checkpoints anchored outside the database (AUDIT_CHECKPOINT_FILE, "
        "signed with AUDIT_HMAC_KEY), and that every clinical row has its audit events. "
        "Names the first problem found. --subject ID verifies one subject's chain only."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--require-checkpoint",
            action="store_true",
            help="fail when no checkpoint exists (production: a tail deletion is otherwise "
            "detectable only through clinical rows without their INSERT event)",
        )
        parser.add_argument(
            "--subject",
            type=int,
            help="verify only this subject's chain (its casebook's own trail)",
        )

    def handle(self, *args, **options):
        if options["subject"] is not None:
            return self.one_subject(options["subject"])
        report = verify_chain()
        if report.broken is not None:
            raise CommandError(
                f"Audit chain BROKEN at {report.broken.where}: {report.broken.problem} "
                f"({report.events} events before it verified)."
            )
        legacy, broken = verify_legacy_chain()
        if broken is not None:
            raise CommandError(
                f"Audit chain BROKEN at {broken.where}: {broken.problem} "
                f"({legacy} events before it verified)."
            )
        problem = check_anchor()
        if problem is not None:
            raise CommandError(
                f"Audit chain BROKEN at {problem.where}: {problem.problem} "
                f"(checkpoints: {checkpoint_file()})."
            )
        missing = unaudited_rows()
        if missing:
            first = missing[0]
            raise CommandError(
                f"Audit trail INCOMPLETE: {first.table} row {first.pk} {first.problem}"
                f" ({len(missing)} such rows found)."
            )
        everything = read_checkpoints()
        checkpoints = [cp for cp in everything if isinstance(cp, Checkpoint)]
        legacy = [cp for cp in everything if isinstance(cp, LegacyCheckpoint)]
        if checkpoints:
            last = checkpoints[-1]
            anchored = (
                f"; anchored: {len(checkpoints)} checkpoints, the latest of "
                f"{last.chains} chains at {last.written_at}"
            )
        elif legacy:
            anchored = (
                f"; anchored only by {len(legacy)} checkpoints of the chain before the "
                f"per-subject chains, the latest at event #{legacy[-1].chain_seq} "
                f"({legacy[-1].written_at}): manage.py audit_checkpoint anchors every chain"
            )
        elif options["require_checkpoint"]:
            raise CommandError(f"No audit checkpoint in {checkpoint_file()}.")
        else:
            anchored = "; no checkpoint yet (manage.py audit_checkpoint writes one)"
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {report.events} events on {report.chains} chains "
                f"verified{anchored}."
            )
        )

    def one_subject(self, subject_id: int):
        report = verify_subject_chain(subject_id)
        label = chain_label(report.chain_key)
        if report.broken is not None:
            raise CommandError(
                f"Audit chain BROKEN at {report.broken.where}: {report.broken.problem} "
                f"({report.events} events before it verified)."
            )
        if report.anchor is not None:
            raise CommandError(
                f"Audit chain BROKEN at {report.anchor.where}: {report.anchor.problem} "
                f"(checkpoints: {checkpoint_file()})."
            )
        anchored = (
            f"; anchored up to position {report.anchored_pos}"
            if report.anchored_pos
            else "; not anchored yet"
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {label[0].upper()}{label[1:]}: {report.events} events "
                f"verified{anchored}."
            )
        )
