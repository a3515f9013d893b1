"""An export job: what was asked, by whom, for which site, how far it has got, and the file it
made (size, SHA-256, expiry). Its steps (requested, made, failed, downloaded, expired) are
written to the audit trail by ``exports.services`` as workflow events -- not every progress
tick."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from accounts.models import Site


class ExportJobQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=ExportJob.ACTIVE)


class ExportJob(models.Model):
    class Kind(models.TextChoices):
        CSV = "csv", _("CSV datasets with data dictionary (zip)")
        ODM_SNAPSHOT = "odm_snapshot", _("CDISC ODM 1.3.2, snapshot")
        ODM_TRANSACTIONAL = "odm_transactional", _("CDISC ODM 1.3.2, transactional (archival)")
        CASEBOOKS = "casebooks", _("Subject casebooks, PDF/A (zip)")
        SITE_ARCHIVE = "site_archive", _("Site archive (casebooks, blank CRF book; zip)")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(_("export"), max_length=30, choices=Kind.choices)
    # None: the whole study (data managers only)
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    error = models.TextField(_("error"), blank=True)
    filename = models.CharField(_("file"), max_length=200, blank=True)
    size = models.BigIntegerField(_("size (bytes)"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True)
    requested_at = models.DateTimeField(_("requested"), db_default=Now(), editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    objects = ExportJobQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("export")
        constraints = [
            # a double click starts one job: one queued / running job per person, kind and scope
            models.UniqueConstraint(
                fields=["requested_by", "kind", "site"],
                condition=Q(status__in=["queued", "running"]),
                nulls_distinct=False,
                name="export_one_active_per_request",
            ),
            models.CheckConstraint(
                condition=Q(done__lte=models.F("total")) | Q(total=0),
                name="export_done_within_total",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"], name="export_expiry_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(self.done * 100 / self.total) if self.total else 0

    @property
    def active(self) -> bool:
        return self.status in self.ACTIVE
