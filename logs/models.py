"""Log forms of a subject, not tied to a visit (issue 13): concomitant medications, medical
history (baseline conditions) and protocol deviations.

Models store what was entered; ``logs.prohibited`` (prohibited medications) and
``logs.rules`` (dates, baseline conditions, deviations raised by the system) decide, and
``logs.services`` writes (the pages and the API call it).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Site
from audit.models import VersionedModel, audited
from safety.models import AdverseEvent, CtcaeTerm
from subjects.models import Subject


class DoseUnit(models.TextChoices):
    MG = "mg", "mg"
    G = "g", "g"
    UG = "ug", "µg"
    ML = "mL", "mL"
    IU = "IU", _("IU")
    MG_KG = "mg/kg", "mg/kg"
    TABLET = "tablet", _("tablet(s)")
    CAPSULE = "capsule", _("capsule(s)")
    SACHET = "sachet", _("sachet(s)")
    DROP = "drop", _("drop(s)")
    PUFF = "puff", _("puff(s)")
    PATCH = "patch", _("patch(es)")
    APPLICATION = "application", _("application(s)")


class Route(models.TextChoices):
    ORAL = "oral", _("Oral")
    IV = "iv", _("Intravenous")
    IM = "im", _("Intramuscular")
    SC = "sc", _("Subcutaneous")
    TOPICAL = "topical", _("Topical")
    TRANSDERMAL = "transdermal", _("Transdermal")
    INHALED = "inhaled", _("Inhaled")
    SUBLINGUAL = "sublingual", _("Sublingual")
    RECTAL = "rectal", _("Rectal")
    NASAL = "nasal", _("Nasal")
    OPHTHALMIC = "ophthalmic", _("Ophthalmic")
    OTHER = "other", _("Other")


class Frequency(models.TextChoices):
    ONCE = "once", _("Once")
    QD = "qd", _("Once daily")
    BID = "bid", _("Twice daily")
    TID = "tid", _("Three times daily")
    QID = "qid", _("Four times daily")
    QN = "qn", _("Every night")
    QOD = "qod", _("Every other day")
    QW = "qw", _("Once weekly")
    PRN = "prn", _("As needed")
    CONTINUOUS = "continuous", _("Continuous infusion")
    OTHER = "other", _("Other")


@audited
class MedicalHistory(VersionedModel):
    """A condition the subject had before the study (baseline), graded by CTCAE if it can be."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="medical_history")
    term = models.ForeignKey(
        CtcaeTerm,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("CTCAE term"),
    )
    condition = models.CharField(
        _("condition"),
        max_length=200,
        blank=True,
        help_text=_("Free text when no CTCAE term fits (or the detail of the term)."),
    )
    start_date = models.DateField(_("start"))
    end_date = models.DateField(_("end"), null=True, blank=True)
    ongoing = models.BooleanField(_("ongoing"), default=False)
    baseline_grade = models.PositiveSmallIntegerField(
        _("grade at baseline"), null=True, blank=True, help_text=_("CTCAE grade, if it has one.")
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        ordering = ["subject", "-start_date", "-id"]
        verbose_name = _("medical history")
        verbose_name_plural = _("medical history")
        constraints = [
            models.CheckConstraint(
                condition=Q(ongoing=True, end_date__isnull=True)
                | Q(ongoing=False, end_date__isnull=False),
                name="mh_end_date_or_ongoing",
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                name="mh_end_not_before_start",
            ),
            models.CheckConstraint(
                condition=Q(term__isnull=False) | ~Q(condition=""), name="mh_term_or_condition"
            ),
        ]

    def __str__(self):
        return f"{self.subject} {self.display_condition}"

    @property
    def display_condition(self) -> str:
        if self.term_id is not None and self.condition:
            return f"{self.term.term}: {self.condition}"
        return self.term.term if self.term_id is not None else self.condition

    @property
    def match_term(self) -> str:
        """What an AE's CTCAE term is compared with: the term, else the free text."""
        return self.term.term if self.term_id is not None else self.condition


@audited
class ConMed(VersionedModel):
    """A concomitant medication, flagged when it is one of the protocol's prohibited or
    cautionary medications (``logs.prohibited``)."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="con_meds")
    name = models.CharField(_("medication"), max_length=200)
    indication = models.CharField(_("indication"), max_length=300, blank=True)
    indication_ae = models.ForeignKey(
        AdverseEvent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="con_meds",
        verbose_name=_("for the adverse event"),
    )
    indication_history = models.ForeignKey(
        MedicalHistory,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="con_meds",
        verbose_name=_("for the medical-history condition"),
    )
    dose = models.DecimalField(_("dose"), max_digits=12, decimal_places=4)
    unit = models.CharField(_("unit"), max_length=20, choices=DoseUnit.choices)
    route = models.CharField(_("route"), max_length=20, choices=Route.choices)
    frequency = models.CharField(_("frequency"), max_length=20, choices=Frequency.choices)
    start_date = models.DateField(_("start"))
    stop_date = models.DateField(_("stop"), null=True, blank=True)
    ongoing = models.BooleanField(_("ongoing"), default=False)
    flag_class = models.CharField(
        _("protocol flag"),
        max_length=30,
        blank=True,
        editable=False,
        help_text=_("The prohibited or cautionary class the name matched (empty: none)."),
    )
    flag_name = models.CharField(max_length=60, blank=True, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        ordering = ["subject", "-start_date", "-id"]
        verbose_name = _("concomitant medication")
        indexes = [models.Index(fields=["name"], name="conmed_name_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ongoing=True, stop_date__isnull=True)
                | Q(ongoing=False, stop_date__isnull=False),
                name="conmed_stop_date_or_ongoing",
            ),
            models.CheckConstraint(
                condition=Q(stop_date__isnull=True) | Q(stop_date__gte=F("start_date")),
                name="conmed_stop_not_before_start",
            ),
            models.CheckConstraint(
                condition=Q(indication_ae__isnull=True) | Q(indication_history__isnull=True),
                name="conmed_one_indication_link",
            ),
        ]

    def __str__(self):
        return f"{self.subject} {self.name} {self.start_date}"


@audited
class Deviation(VersionedModel):
    """A protocol deviation: entered by the site (confirmed), or raised by the system from the
    stored data (``auto_key`` names what raised it) for the site to confirm or dismiss."""

    class Category(models.TextChoices):
        ELIGIBILITY = "eligibility", _("Eligibility")
        CONSENT = "informed_consent", _("Informed consent")
        VISIT_WINDOW = "visit_window", _("Visit window")
        DOSING = "dosing", _("Dosing")
        ASSESSMENT_MISSED = "assessment_missed", _("Assessment missed")
        PROHIBITED_MEDICATION = "prohibited_medication", _("Prohibited medication")

    class Status(models.TextChoices):
        RAISED = "raised", _("Raised by the system")
        CONFIRMED = "confirmed", _("Confirmed by the site")
        DISMISSED = "dismissed", _("Dismissed")

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="deviations")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", editable=False)
    category = models.CharField(_("category"), max_length=30, choices=Category.choices)
    description = models.TextField(_("description"), max_length=2000)
    occurred_on = models.DateField(_("date"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices)
    dismissal_reason = models.TextField(_("reason dismissed"), blank=True, max_length=500)
    # What raised it (e.g. "visit_window:visit:12"); empty for one entered by the site.
    auto_key = models.CharField(max_length=80, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )

    class Meta:
        ordering = ["subject", "-occurred_on", "-id"]
        verbose_name = _("protocol deviation")
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "auto_key"],
                condition=~Q(auto_key=""),
                name="deviation_one_per_auto_key",
            ),
            models.CheckConstraint(
                condition=~Q(status="dismissed") | ~Q(dismissal_reason=""),
                name="deviation_dismissed_with_reason",
            ),
        ]

    def __str__(self):
        return f"{self.subject} {self.category} {self.occurred_on} ({self.status})"

    @property
    def raised_by_system(self) -> bool:
        return bool(self.auto_key)
