"""Monitoring state kept beside the clinical data (issue 14 §3–§5).

- ``Hold``: a freeze or a lock on a CRF instance, a visit, a subject or the whole study,
  placed and lifted with a reason (the lifted rows stay: the history).
- ``SdvMark``: the source-data verification of a CRF instance (``field`` empty) or of one
  of its critical fields.
- ``Signature``: an investigator's e-signature of a CRF, a visit or the subject casebook,
  voided (never deleted) when the data it covers change.

The database enforces them (``monitoring/triggers.py``): a write to held data is refused, a
change to verified data marks the verification "changed since verified", a change to signed
data voids the signature — whatever path the write comes by.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from audit.models import VersionedModel, audited
from subjects.models import Subject, Visit


class Level(models.TextChoices):
    STUDY = "study", _("whole study")
    SUBJECT = "subject", _("subject")
    VISIT = "visit", _("visit")
    RECORD = "record", _("form")


@audited
class Hold(VersionedModel):
    class Kind(models.TextChoices):
        FREEZE = "freeze", _("frozen")
        LOCK = "lock", _("locked")

    kind = models.CharField(_("kind"), max_length=6, choices=Kind.choices)
    level = models.CharField(_("level"), max_length=7, choices=Level.choices)
    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    record_type = models.CharField(_("form"), max_length=60, blank=True, default="")
    record_id = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(_("reason"))
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField(db_default=Now(), editable=False)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    lift_reason = models.TextField(_("reason for lifting"), blank=True, default="")

    class Meta:
        ordering = ["-placed_at", "-id"]
        verbose_name = _("freeze or lock")
        verbose_name_plural = _("freezes and locks")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "level", "subject", "visit", "record_type", "record_id"],
                condition=Q(lifted_at__isnull=True),
                nulls_distinct=False,
                name="hold_one_active_per_target",
            ),
            models.CheckConstraint(
                condition=(
                    Q(
                        level="study",
                        subject__isnull=True,
                        visit__isnull=True,
                        record_id__isnull=True,
                    )
                    | Q(
                        level="subject",
                        subject__isnull=False,
                        visit__isnull=True,
                        record_id__isnull=True,
                    )
                    | Q(
                        level="visit",
                        subject__isnull=False,
                        visit__isnull=False,
                        record_id__isnull=True,
                    )
                    | Q(level="record", subject__isnull=False, record_id__isnull=False)
                ),
                name="hold_target_matches_level",
            ),
        ]
        indexes = [
            models.Index(
                fields=["level", "subject", "visit"],
                condition=Q(lifted_at__isnull=True),
                name="hold_active_idx",
            )
        ]

    def __str__(self):
        return f"{self.kind} {self.level} {self.subject_id or ''} {self.visit_id or ''}"


@audited
class SdvMark(VersionedModel):
    class State(models.TextChoices):
        VERIFIED = "verified", _("verified")
        CHANGED = "changed", _("changed since verified")
        UNVERIFIED = "unverified", _("verification removed")

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    record_type = models.CharField(_("form"), max_length=60)
    record_id = models.BigIntegerField()
    field = models.CharField(_("field"), max_length=60, blank=True, default="")  # "" = the form
    state = models.CharField(_("SDV"), max_length=10, choices=State.choices)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    verified_at = models.DateTimeField()
    changed_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True, default="")

    class Meta:
        ordering = ["record_type", "record_id", "field"]
        verbose_name = _("source-data verification")
        constraints = [
            models.UniqueConstraint(
                fields=["record_type", "record_id", "field"], name="sdv_one_mark_per_item"
            )
        ]
        indexes = [models.Index(fields=["subject", "state"], name="sdv_subject_state_idx")]


@audited
class Signature(VersionedModel):
    class Level(models.TextChoices):
        CRF = "crf", _("form")
        VISIT = "visit", _("visit")
        CASEBOOK = "casebook", _("casebook")

    level = models.CharField(_("signed"), max_length=8, choices=Level.choices)
    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    record_type = models.CharField(max_length=60, blank=True, default="")
    record_id = models.BigIntegerField(null=True, blank=True)
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    printed_name = models.CharField(max_length=300)
    meaning = models.TextField()
    signed_at = models.DateTimeField(db_default=Now(), editable=False)
    content_hash = models.CharField(max_length=64)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-signed_at", "-id"]
        verbose_name = _("signature")
        indexes = [
            models.Index(
                fields=["subject", "level"],
                condition=Q(voided_at__isnull=True),
                name="signature_active_idx",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(level="casebook", visit__isnull=True, record_id__isnull=True)
                    | Q(level="visit", visit__isnull=False, record_id__isnull=True)
                    | Q(level="crf", record_id__isnull=False)
                ),
                name="signature_target_matches_level",
            )
        ]
