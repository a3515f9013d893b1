"""Dose modifications and drug accountability as entered; ``dosing.calendar`` derives the rest."""

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from alter_s006 import protocol as P
from audit.models import VersionedModel, audited
from subjects.models import Subject

DOSE_CHOICES = [(mg, f"{mg} mg") for mg in P.DOSE_LEVELS_MG]


class Reason(models.TextChoices):
    TOXICITY = "toxicity", _("Toxicity (adverse event)")
    PROGRESSION = "progression", _("Progressive disease")
    WITHDRAWAL = "withdrawal", _("Withdrawal of consent")
    DEATH = "death", _("Death")
    INVESTIGATOR = "investigator", _("Investigator decision")
    OTHER = "other", _("Other")


@audited
class DoseEvent(VersionedModel):
    """An interruption, reduction, cycle delay or permanent discontinuation (PROTOCOL.md)."""

    class Kind(models.TextChoices):
        INTERRUPTION = "interruption", _("Interruption")
        REDUCTION = "reduction", _("Dose reduction")
        DELAY = "delay", _("Cycle delay")
        DISCONTINUATION = "discontinuation", _("Permanent discontinuation")
        REESCALATION = "reescalation", _("Re-escalation")

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="dose_events")
    kind = models.CharField(_("event"), max_length=20, choices=Kind.choices)
    start = models.DateField(_("from"))
    end = models.DateField(_("to (last day without drug)"), null=True, blank=True)
    dose_mg = models.PositiveSmallIntegerField(
        _("new dose"), null=True, blank=True, choices=DOSE_CHOICES
    )
    cycle = models.PositiveSmallIntegerField(_("cycle delayed"), null=True, blank=True)
    days = models.PositiveSmallIntegerField(_("days of delay"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    # Free-text notes. The adverse event behind a toxicity modification is a link, kept on
    # the AE (safety.AdverseEvent.dose_event -> event.adverse_events), not typed here.
    detail = models.CharField(
        _("notes"),
        max_length=300,
        blank=True,
        help_text=_(
            "Free text. The adverse event behind a toxicity modification is linked from the "
            "adverse event form."
        ),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        ordering = ["start", "id"]
        verbose_name = _("dose modification")

    def __str__(self):
        return f"{self.subject} {self.get_kind_display()} {self.start}"


@audited
class Dispensing(VersionedModel):
    """Capsules dispensed at a visit and returned at the next (drug accountability)."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="dispensings")
    dispensed_on = models.DateField(_("dispensed on"))
    strength_mg = models.PositiveSmallIntegerField(_("capsule strength"), choices=DOSE_CHOICES)
    lot_number = models.CharField(_("lot number"), max_length=30)
    expiry = models.DateField(_("expiry"))
    capsules = models.PositiveSmallIntegerField(
        _("capsules dispensed"), validators=[MinValueValidator(1)]
    )
    returned_on = models.DateField(_("returned on"), null=True, blank=True)
    returned = models.PositiveSmallIntegerField(_("capsules returned"), null=True, blank=True)
    reported_missed = models.PositiveSmallIntegerField(
        _("missed doses reported"), null=True, blank=True
    )
    recorded_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        ordering = ["dispensed_on", "id"]
        verbose_name = _("dispensing")

    def __str__(self):
        return f"{self.subject} {self.capsules} × {self.strength_mg} mg on {self.dispensed_on}"
