"""The forms that end treatment and follow survival (issue 13): end of treatment, death,
survival follow-up with subsequent anticancer therapy, withdrawal of consent.

Models store what was entered (and the last dose read from dosing when treatment ended);
``outcomes.rules`` decides, ``outcomes.services`` writes.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from alter_s006 import protocol as P
from audit.models import VersionedModel, audited
from outcomes import rules
from safety.models import AdverseEvent
from subjects.models import Subject, Visit

_LINE_LOW, _LINE_HIGH = P.SUBSEQUENT_THERAPY_LINES


class StopReason(models.TextChoices):
    PROGRESSION = rules.StopReason.PROGRESSION, _("Disease progression")
    TOXICITY = rules.StopReason.TOXICITY, _("Toxicity (adverse event)")
    WITHDRAWAL = rules.StopReason.WITHDRAWAL, _("Withdrawal of consent")
    INVESTIGATOR = rules.StopReason.INVESTIGATOR, _("Investigator decision")
    DEATH = rules.StopReason.DEATH, _("Death")
    OTHER = rules.StopReason.OTHER, _("Other")


class DeathCause(models.TextChoices):
    PROGRESSION = rules.DeathCause.PROGRESSION, _("Disease progression")
    ADVERSE_EVENT = rules.DeathCause.ADVERSE_EVENT, _("Adverse event")
    OTHER = rules.DeathCause.OTHER, _("Other")


class Autopsy(models.TextChoices):
    YES = rules.Autopsy.YES, _("Yes")
    NO = rules.Autopsy.NO, _("No")
    UNKNOWN = rules.Autopsy.UNKNOWN, _("Unknown")


class ContactMode(models.TextChoices):
    CLINIC = rules.ContactMode.CLINIC, _("Clinic visit")
    TELEPHONE = rules.ContactMode.TELEPHONE, _("Telephone")
    RECORDS = rules.ContactMode.RECORDS, _("Medical records")
    OTHER = rules.ContactMode.OTHER, _("Other")


class VitalStatus(models.TextChoices):
    ALIVE = rules.VitalStatus.ALIVE, _("Alive")
    DEAD = rules.VitalStatus.DEAD, _("Dead")
    LOST = rules.VitalStatus.LOST, _("Lost to follow-up")


class WithdrawalScope(models.TextChoices):
    TREATMENT = rules.WithdrawalScope.TREATMENT, _("Treatment only (follow-up continues)")
    FOLLOW_UP = rules.WithdrawalScope.FOLLOW_UP, _("All further follow-up")
    DATA_USE = rules.WithdrawalScope.DATA_USE, _("All follow-up and further use of the data")


@audited
class EndOfTreatment(VersionedModel):
    """Why and when treatment stopped, one per subject, at its end-of-treatment visit."""

    subject = models.OneToOneField(
        Subject, on_delete=models.PROTECT, related_name="end_of_treatment"
    )
    visit = models.OneToOneField(
        Visit,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="end_of_treatment",
        help_text=_("The end-of-treatment visit (none when the subject left the study first)."),
    )
    decision_date = models.DateField(_("date of the decision to stop"))
    stop_reason = models.CharField(_("reason"), max_length=20, choices=StopReason.choices)
    toxicity_ae = models.ForeignKey(
        AdverseEvent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("adverse event"),
    )
    reason_other = models.CharField(_("other reason"), max_length=300, blank=True)
    last_dose_date = models.DateField(_("last dose"), help_text=_("From the dosing calendar."))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        verbose_name = _("end of treatment")

    def __str__(self):
        return f"{self.subject} EOT {self.decision_date}"


@audited
class Death(VersionedModel):
    """The subject's death (any time, one per subject): OS's event date."""

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="death")
    death_date = models.DateField(_("date of death"))
    cause = models.CharField(_("primary cause"), max_length=30, choices=DeathCause.choices)
    cause_ae = models.ForeignKey(
        AdverseEvent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("adverse event"),
    )
    cause_other = models.CharField(_("other cause"), max_length=300, blank=True)
    autopsy = models.CharField(_("autopsy"), max_length=10, choices=Autopsy.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        verbose_name = _("death")

    def __str__(self):
        return f"{self.subject} died {self.death_date}"


@audited
class SurvivalFollowUp(VersionedModel):
    """One survival follow-up contact, at its survival follow-up visit."""

    subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, related_name="survival_follow_ups"
    )
    visit = models.OneToOneField(Visit, on_delete=models.PROTECT, related_name="survival_follow_up")
    contact_date = models.DateField(_("contact date"))
    mode = models.CharField(_("mode of contact"), max_length=20, choices=ContactMode.choices)
    status = models.CharField(_("status"), max_length=20, choices=VitalStatus.choices)
    last_known_alive = models.DateField(_("last date known alive"), null=True, blank=True)
    new_progression_date = models.DateField(
        _("new progression date"),
        null=True,
        blank=True,
        help_text=_("Only if no progression is recorded yet."),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        ordering = ["contact_date", "id"]
        verbose_name = _("survival follow-up")

    def __str__(self):
        return f"{self.subject} survival follow-up {self.contact_date}"


@audited
class SubsequentTherapy(models.Model):
    """A subsequent anticancer therapy reported at a survival follow-up (its child rows)."""

    follow_up = models.ForeignKey(
        SurvivalFollowUp, on_delete=models.CASCADE, related_name="therapies"
    )
    regimen = models.CharField(_("regimen"), max_length=200)
    start_date = models.DateField(_("start date"))
    line = models.PositiveSmallIntegerField(
        _("line of therapy"),
        validators=[MinValueValidator(_LINE_LOW), MaxValueValidator(_LINE_HIGH)],
    )

    class Meta:
        ordering = ["line", "start_date", "id"]
        verbose_name = _("subsequent anticancer therapy")

    def __str__(self):
        return f"{self.regimen} (line {self.line}, {self.start_date})"


@audited
class Withdrawal(VersionedModel):
    """A withdrawal of consent (any time)."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="withdrawals")
    withdrawal_date = models.DateField(_("date of withdrawal"))
    scope = models.CharField(_("scope"), max_length=20, choices=WithdrawalScope.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        ordering = ["withdrawal_date", "id"]
        verbose_name = _("withdrawal of consent")

    def __str__(self):
        return f"{self.subject} withdrawal {self.withdrawal_date} ({self.scope})"
