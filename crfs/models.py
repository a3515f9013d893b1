"""The visit CRFs of the schedule of assessments (issue 13): one row per CRF per visit.

What was measured is stored as typed; what is derived from it (BSA, QTcF, CTCAE grades) is
computed by the service (``crfs.services``) from the pure modules (``crfs.derived``,
``safety.grading``) and stored beside it, never typed. Every table is audited (trigger) and
versioned (optimistic locking); a correction needs a reason.
"""

from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from audit.models import VersionedModel, audited
from eligibility.plausibility import PLAUSIBLE
from subjects.models import Subject, Visit


def _limits(key: str, integer: bool = False) -> list:
    low, high = PLAUSIBLE[key]
    if integer:
        low, high = int(low), int(high)
    return [MinValueValidator(low), MaxValueValidator(high)]


def _decimal(label, key: str, places: int = 1, **kwargs):
    return models.DecimalField(
        label,
        max_digits=4 + places,
        decimal_places=places,
        null=True,
        blank=True,
        validators=_limits(key),
        **kwargs,
    )


def _integer(label, key: str, **kwargs):
    return models.PositiveSmallIntegerField(
        label, null=True, blank=True, validators=_limits(key, integer=True), **kwargs
    )


def _grade():
    return models.PositiveSmallIntegerField(null=True, blank=True, editable=False)


class VisitCrf(VersionedModel):
    """Columns every visit CRF shares: whose, which visit, when assessed, by whom."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="+")
    visit = models.ForeignKey(Visit, on_delete=models.PROTECT, related_name="+")
    assessed_on = models.DateField(_("date of assessment"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        abstract = True


@audited
class VitalSigns(VisitCrf):
    systolic = _integer(_("systolic blood pressure"), "systolic")
    diastolic = _integer(_("diastolic blood pressure"), "diastolic")
    heart_rate = _integer(_("heart rate"), "heart_rate")
    temperature = _decimal(_("temperature"), "temperature")
    weight = _decimal(_("weight"), "weight")
    height = _decimal(
        _("height"), "height", help_text=_("At screening: BSA at later visits uses it.")
    )
    not_done_reason = models.CharField(
        _("reason a measurement was not done"),
        max_length=200,
        blank=True,
        help_text=_("Required when a measurement is left empty."),
    )
    # derived (crfs.services)
    bsa = models.DecimalField(max_digits=4, decimal_places=2, null=True, editable=False)
    hypertension_grade = _grade()
    fever_grade = _grade()
    weight_term = models.CharField(max_length=40, blank=True, editable=False)
    weight_grade = _grade()
    weight_note = models.CharField(max_length=200, blank=True, editable=False)

    class Meta:
        verbose_name = _("vital signs")
        constraints = [
            models.UniqueConstraint(fields=["visit"], name="vitalsigns_one_per_visit"),
            models.CheckConstraint(
                condition=Q(systolic__isnull=True)
                | Q(diastolic__isnull=True)
                | Q(diastolic__lt=models.F("systolic")),
                name="vitalsigns_diastolic_below_systolic",
            ),
        ]


@audited
class Ecog(VisitCrf):
    score = models.PositiveSmallIntegerField(
        _("ECOG performance status"),
        choices=[
            (0, _("0 — fully active")),
            (1, _("1 — restricted in strenuous activity, ambulatory")),
            (2, _("2 — ambulatory, self-care, up more than half of waking hours")),
            (3, _("3 — limited self-care, in bed or chair more than half of waking hours")),
            (4, _("4 — completely disabled")),
            (5, _("5 — dead")),
        ],
    )

    class Meta:
        verbose_name = _("ECOG performance status")
        constraints = [models.UniqueConstraint(fields=["visit"], name="ecog_one_per_visit")]


@audited
class PhysicalExam(VisitCrf):
    class Result(models.TextChoices):
        NORMAL = "normal", _("No abnormal finding")
        ABNORMAL = "abnormal", _("Abnormal findings")

    result = models.CharField(_("result"), max_length=10, choices=Result.choices)
    findings = models.TextField(
        _("abnormal findings"),
        blank=True,
        max_length=2000,
        help_text=_("Body system and finding, one per line; clinically significant ones are AEs."),
    )

    class Meta:
        verbose_name = _("physical examination")
        constraints = [
            models.UniqueConstraint(fields=["visit"], name="physicalexam_one_per_visit"),
            models.CheckConstraint(
                condition=~Q(result="abnormal", findings=""),
                name="physicalexam_abnormal_has_findings",
            ),
        ]


@audited
class Ecg(VisitCrf):
    class Interpretation(models.TextChoices):
        NORMAL = "normal", _("Normal")
        NCS = "abnormal_ncs", _("Abnormal, not clinically significant")
        CS = "abnormal_cs", _("Abnormal, clinically significant")

    qt = _integer(_("QT interval"), "qt")
    rr = _integer(_("RR interval"), "rr", help_text=_("Or the heart rate: one of the two."))
    heart_rate = _integer(_("heart rate"), "heart_rate")
    interpretation = models.CharField(
        _("interpretation"), max_length=15, choices=Interpretation.choices
    )
    findings = models.CharField(_("findings"), max_length=500, blank=True)
    # derived
    qtcf = models.PositiveSmallIntegerField(null=True, editable=False)
    qtc_grade = _grade()
    qtc_note = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        verbose_name = _("12-lead ECG")
        constraints = [models.UniqueConstraint(fields=["visit"], name="ecg_one_per_visit")]


DIPSTICK_READINGS = ("negative", "trace", "1+", "2+", "3+", "4+")


@audited
class Urinalysis(VisitCrf):
    protein_dipstick = models.CharField(
        _("urine protein (dipstick)"),
        max_length=8,
        choices=[(r, r) for r in DIPSTICK_READINGS],
    )
    protein_24h = models.DecimalField(
        _("24-h urine protein"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=_limits("urine_protein_24h"),
    )
    not_done_reason = models.CharField(
        _("reason the 24-h urine protein was not done"), max_length=200, blank=True
    )
    # derived
    proteinuria_grade = _grade()
    proteinuria_note = models.CharField(max_length=300, blank=True, editable=False)

    class Meta:
        verbose_name = _("urinalysis")
        constraints = [models.UniqueConstraint(fields=["visit"], name="urinalysis_one_per_visit")]


@audited
class ThyroidFunction(VisitCrf):
    tsh = models.DecimalField(
        _("TSH"), max_digits=7, decimal_places=3, null=True, blank=True, validators=_limits("tsh")
    )
    ft4 = models.DecimalField(
        _("free T4"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=_limits("ft4"),
    )
    not_done_reason = models.CharField(_("reason a value was not done"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("thyroid function")
        constraints = [models.UniqueConstraint(fields=["visit"], name="thyroid_one_per_visit")]


@audited
class Review(VisitCrf):
    """A review the visit asks for: concomitant medications, adverse events, medical history,
    ongoing AEs' outcomes. The answer says whether the log was found unchanged or updated."""

    class Kind(models.TextChoices):
        CON_MEDS = "con_med_review", _("Concomitant medications reviewed")
        AES = "ae_review", _("Adverse events reviewed")
        HISTORY = "medical_history_review", _("Medical history reviewed")
        AE_OUTCOMES = "ae_outcome_review", _("Ongoing adverse events' outcomes reviewed")

    class Answer(models.TextChoices):
        NONE = "none", _("Nothing to record")
        UNCHANGED = "unchanged", _("Reviewed: the log is up to date, nothing new")
        UPDATED = "updated", _("Reviewed: new or changed entries recorded in the log")

    kind = models.CharField(max_length=30, choices=Kind.choices, editable=False)
    answer = models.CharField(_("review"), max_length=10, choices=Answer.choices)
    comment = models.CharField(_("comment"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("review")
        constraints = [
            models.UniqueConstraint(fields=["visit", "kind"], name="review_one_per_visit_kind")
        ]
