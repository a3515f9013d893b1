"""RECIST 1.1 lesions and timepoints as entered; ``assessments.recist`` derives the responses.

The derived columns of :class:`Timepoint` are stored for display only: they are computed by
``assessments.services`` when the timepoint is recorded.
"""

from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import models
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from alter_s006 import protocol as P
from assessments import recist
from audit.models import VersionedModel, audited
from subjects.models import Subject, Visit

METHOD_CHOICES = [(m.value, m.value) for m in recist.Method]
KIND_CHOICES = [(k.value, k.value) for k in recist.MeasurementKind]
NON_TARGET_CHOICES = [(s.value, s.value) for s in recist.NonTargetStatus]
NEW_LESION_CHOICES = [(n.value, n.value) for n in recist.NewLesion]
RESPONSE_CHOICES = [(r.value, r.value) for r in recist.Response]


def millimetres(label, **kwargs):
    return models.DecimalField(label, max_digits=6, decimal_places=1, **kwargs)


def percentage(label):
    return models.DecimalField(label, max_digits=8, decimal_places=2, null=True, blank=True)


def response(label):
    return models.CharField(label, max_length=20, choices=RESPONSE_CHOICES, blank=True)


@audited
class Lesion(VersionedModel):
    """A target or non-target lesion recorded at baseline (RECIST 3.1, 4.2)."""

    class Role(models.TextChoices):
        TARGET = "target", _("Target")
        NON_TARGET = "non_target", _("Non-target")

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="lesions")
    lesion_id = models.CharField(
        _("lesion"),
        max_length=10,
        # a label (T1, NT2), also part of the form's field names: no free text
        validators=[
            RegexValidator(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", _("Letters, digits, dot, dash."))
        ],
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    organ = models.CharField(_("organ"), max_length=60)
    location = models.CharField(_("location"), max_length=200, blank=True)
    method = models.CharField(_("method"), max_length=20, choices=METHOD_CHOICES)
    slice_thickness_mm = millimetres(_("slice thickness (mm)"), null=True, blank=True)
    is_node = models.BooleanField(_("lymph node"), default=False)
    baseline_date = models.DateField(_("baseline scan date"))
    baseline_diameter_mm = millimetres(
        _("baseline diameter (mm)"),
        null=True,
        blank=True,
        help_text=_("Longest diameter; short axis for a lymph node."),
    )

    class Meta:
        ordering = ["subject", "role", "id"]
        verbose_name = _("lesion")
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "lesion_id"], name="lesion_subject_lesion_id_unique"
            )
        ]

    def __str__(self):
        return f"{self.subject} {self.lesion_id}"

    def to_pure(self) -> recist.Lesion:
        return recist.Lesion(
            lesion_id=self.lesion_id,
            organ=self.organ,
            method=recist.Method(self.method),
            diameter_mm=self.baseline_diameter_mm,
            is_node=self.is_node,
            slice_thickness_mm=self.slice_thickness_mm,
        )


@audited
class Timepoint(VersionedModel):
    """One on-study tumour assessment: the inputs and the derived RECIST response."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="timepoints")
    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, related_name="timepoints", null=True, blank=True
    )
    scan_date = models.DateField(_("scan date"))
    non_target_status = models.CharField(
        _("non-target lesions"), max_length=20, choices=NON_TARGET_CHOICES, blank=True
    )
    new_lesion = models.CharField(_("new lesion"), max_length=10, choices=NEW_LESION_CHOICES)
    confirms_equivocal = models.BooleanField(
        _("confirms the equivocal new lesion"),
        default=False,
        help_text=_(
            "The new lesion is the one seen as equivocal before: progression is dated back to "
            "its first scan (RECIST 4.3.4)."
        ),
    )
    out_of_window = models.BooleanField(
        _("out of window"),
        default=False,
        help_text=format_lazy(
            _(
                "No tumour-assessment visit window (every {every} days, ±{window}) holds the "
                "scan date."
            ),
            every=P.TUMOUR_ASSESSMENT_INTERVAL_DAYS,
            window=P.TUMOUR_ASSESSMENT_WINDOW_DAYS,
        ),
    )
    investigator_response = response(_("investigator's response"))
    disagreement_reason = models.TextField(_("reason for disagreement"), blank=True)
    # derived (assessments.recist), stored for display
    sum_mm = millimetres(_("sum of diameters (mm)"), null=True, blank=True)
    change_from_baseline_pct = percentage(_("change from baseline (%)"))
    nadir_mm = millimetres(_("nadir (mm)"), null=True, blank=True)
    change_from_nadir_pct = percentage(_("change from nadir (%)"))
    change_from_nadir_mm = millimetres(_("change from nadir (mm)"), null=True, blank=True)
    target_response = response(_("target response"))
    non_target_response = response(_("non-target response"))
    overall_response = response(_("overall response"))
    # [{"code": ..., "params": {...}}] of assessments.recist, worded by assessments.notes
    notes = models.JSONField(_("notes"), default=list, blank=True, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["subject", "scan_date"]
        verbose_name = _("tumour assessment")
        constraints = [
            models.UniqueConstraint(
                fields=["subject", "scan_date"], name="timepoint_subject_scan_date_unique"
            )
        ]

    def __str__(self):
        return f"{self.subject} {self.scan_date} {self.overall_response}"


@audited
class LesionMeasurement(VersionedModel):
    """One target lesion at one timepoint (RECIST 4.3.2)."""

    timepoint = models.ForeignKey(Timepoint, on_delete=models.PROTECT, related_name="measurements")
    lesion = models.ForeignKey(Lesion, on_delete=models.PROTECT, related_name="measurements")
    kind = models.CharField(_("result"), max_length=30, choices=KIND_CHOICES)
    diameter_mm = millimetres(_("diameter (mm)"), null=True, blank=True)
    merged_into = models.ForeignKey(
        Lesion,
        on_delete=models.PROTECT,
        related_name="+",
        null=True,
        blank=True,
        verbose_name=_("merged into"),
        help_text=_("The target lesion carrying the coalesced lesion's diameter"),
    )

    class Meta:
        ordering = ["timepoint", "lesion"]
        verbose_name = _("lesion measurement")
        constraints = [
            models.UniqueConstraint(
                fields=["timepoint", "lesion"], name="measurement_timepoint_lesion_unique"
            )
        ]

    def __str__(self):
        return f"{self.lesion} {self.timepoint.scan_date}: {self.kind} {self.diameter_mm or ''}"
