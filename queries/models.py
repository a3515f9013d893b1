"""Data queries: a question about one field of one clinical record, open until answered and
closed. Edit checks raise them by themselves (``origin = system``); the monitor's workflow
(raise, answer, close by hand) builds on the same table."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from audit.models import VersionedModel, audited
from subjects.models import Subject


@audited
class Query(VersionedModel):
    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ANSWERED = "answered", _("answered")
        CLOSED = "closed", _("closed")

    class Origin(models.TextChoices):
        SYSTEM = "system", _("edit check")
        MANUAL = "manual", _("raised by hand")

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="queries")
    record_type = models.CharField(_("record"), max_length=60)  # "assessments.timepoint"
    record_id = models.PositiveBigIntegerField(_("record id"))
    field = models.CharField(_("field"), max_length=60, blank=True)
    edit_check = models.CharField(
        _("edit check"), max_length=60, blank=True, help_text=_("Code of the check that raised it")
    )
    text = models.TextField(_("query"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default="open")
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    raised_at = models.DateTimeField(db_default=Now(), editable=False)
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)

    class Meta:
        ordering = ["subject", "-raised_at", "-id"]
        verbose_name = _("query")
        verbose_name_plural = _("queries")
        indexes = [models.Index(fields=["record_type", "record_id"], name="query_record_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["record_type", "record_id", "edit_check"],
                condition=models.Q(status="open", origin="system"),
                name="query_one_open_per_check",
            )
        ]

    def __str__(self):
        return f"{self.subject} {self.record_type}#{self.record_id} {self.field}: {self.status}"
