"""CTCAE v4.03 dictionary, adverse events with their grade history, SAE reports, lab panels.

Models store what was entered; ``safety.adverse_events`` (grade history, reporting window, SAE
due time), ``safety.ctcae`` (grades a term has) and ``safety.grading`` (CTCAE grade of a lab
value) derive. The derived columns (``AdverseEvent.out_of_window``, a lab result's grade, term
and definition) are stored for display by ``safety.services``.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from alter_s006 import protocol as P
from audit.models import VersionedModel, audited
from dosing.models import DoseEvent
from eligibility.models import ReferenceRange
from safety import adverse_events as rules
from safety import ctcae, grading
from subjects.models import Subject, Visit

GRADE_CHOICES = [(g, str(g)) for g in ctcae.GRADES]
SAE_CRITERIA = (
    "sae_death",
    "sae_life_threatening",
    "sae_hospitalisation",
    "sae_disability",
    "sae_congenital_anomaly",
    "sae_important_medical_event",
)


def grade_field(label, **kwargs):
    return models.PositiveSmallIntegerField(
        label,
        choices=GRADE_CHOICES,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        **kwargs,
    )


class CtcaeTerm(models.Model):
    """One term of CTCAE v4.03 (reference data, loaded from ``safety/data``; not edited)."""

    meddra_code = models.PositiveIntegerField(_("MedDRA code"), unique=True)
    soc = models.CharField(_("system organ class"), max_length=100, db_index=True)
    term = models.CharField(_("term"), max_length=120, unique=True)
    grade_1 = models.TextField(_("grade 1"), blank=True)
    grade_2 = models.TextField(_("grade 2"), blank=True)
    grade_3 = models.TextField(_("grade 3"), blank=True)
    grade_4 = models.TextField(_("grade 4"), blank=True)
    grade_5 = models.TextField(_("grade 5"), blank=True)
    definition = models.TextField(_("definition"), blank=True)
    errata = models.CharField(_("errata"), max_length=100, blank=True)
    other_specify = models.BooleanField(
        _("“Other, specify”"), default=False, help_text=_("The verbatim term is required.")
    )

    class Meta:
        ordering = ["soc", "term"]
        verbose_name = _("CTCAE term")

    def __str__(self):
        return self.term

    @property
    def cells(self) -> tuple[str, str, str, str, str]:
        return (self.grade_1, self.grade_2, self.grade_3, self.grade_4, self.grade_5)

    @property
    def allowed_grades(self) -> tuple[int, ...]:
        return ctcae.allowed_grades(self.cells)

    def definition_of(self, grade: int) -> str:
        """The CTCAE wording of ``grade`` for this term ("" if the term has no such grade)."""
        return self.cells[grade - 1].strip() if grade in self.allowed_grades else ""

    def grade_definitions(self) -> list[tuple[int, str]]:
        """(grade, wording) of the grades this term has, grade 1 first."""
        return [(g, self.definition_of(g)) for g in self.allowed_grades]


@audited
class AdverseEvent(VersionedModel):
    """An adverse event graded by CTCAE v4.03 (PROTOCOL.md "Outcomes"); issue 6 fields."""

    class Relationship(models.TextChoices):
        UNRELATED = "unrelated", _("Unrelated")
        UNLIKELY = "unlikely", _("Unlikely")
        POSSIBLE = "possible", _("Possible")
        PROBABLE = "probable", _("Probable")
        DEFINITE = "definite", _("Definite")

    class Action(models.TextChoices):
        NONE = "none", _("None (dose not changed)")
        INTERRUPTED = "interrupted", _("Drug interrupted")
        REDUCED = "reduced", _("Dose reduced")
        WITHDRAWN = "withdrawn", _("Drug withdrawn")

    class Outcome(models.TextChoices):
        RECOVERED = "recovered", _("Recovered / resolved")
        RECOVERING = "recovering", _("Recovering / resolving")
        NOT_RECOVERED = "not_recovered", _("Not recovered / not resolved")
        SEQUELAE = "recovered_with_sequelae", _("Recovered with sequelae")
        FATAL = "fatal", _("Fatal")
        UNKNOWN = "unknown", _("Unknown")

    # The dose modification each action links to (dosing.models.DoseEvent.Kind).
    ACTION_DOSE_EVENT = {
        Action.INTERRUPTED: DoseEvent.Kind.INTERRUPTION,
        Action.REDUCED: DoseEvent.Kind.REDUCTION,
        Action.WITHDRAWN: DoseEvent.Kind.DISCONTINUATION,
    }
    # Recorded (and hashed) in English, the language of the record; shown translated too.
    CAUSALITY_MEANING = gettext_noop(
        "I have assessed the relationship of this adverse event to anlotinib as stated"
    )

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="adverse_events")
    term = models.ForeignKey(
        CtcaeTerm, on_delete=models.PROTECT, related_name="+", verbose_name=_("CTCAE term")
    )
    verbatim = models.CharField(
        _("verbatim term"),
        max_length=200,
        blank=True,
        help_text=_("As the investigator describes it; required with an “Other, specify” term."),
    )
    onset_date = models.DateField(_("onset"))
    end_date = models.DateField(_("end"), null=True, blank=True)
    ongoing = models.BooleanField(_("ongoing"), default=False)
    grade = grade_field(_("grade"), help_text=_("The current grade (the last of its history)."))
    serious = models.BooleanField(_("serious"), default=False)
    sae_death = models.BooleanField(_("results in death"), default=False)
    sae_life_threatening = models.BooleanField(_("life-threatening"), default=False)
    sae_hospitalisation = models.BooleanField(
        _("requires or prolongs hospitalisation"), default=False
    )
    sae_disability = models.BooleanField(_("persistent or significant disability"), default=False)
    sae_congenital_anomaly = models.BooleanField(
        _("congenital anomaly / birth defect"), default=False
    )
    sae_important_medical_event = models.BooleanField(_("important medical event"), default=False)
    relationship = models.CharField(
        _("relationship to anlotinib"),
        max_length=20,
        choices=Relationship.choices,
        blank=True,
        help_text=_("The investigator's assessment, e-signed."),
    )
    causality_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    causality_printed_name = models.CharField(max_length=200, blank=True, editable=False)
    causality_signed_at = models.DateTimeField(null=True, blank=True, editable=False)
    action_taken = models.CharField(
        _("action taken with anlotinib"),
        max_length=20,
        choices=Action.choices,
        default=Action.NONE,
    )
    dose_event = models.ForeignKey(
        DoseEvent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="adverse_events",
        verbose_name=_("dose modification"),
    )
    treatment_given = models.TextField(_("treatment given"), blank=True)
    outcome = models.CharField(_("outcome"), max_length=30, choices=Outcome.choices)
    learned_on = models.DateTimeField(
        _("site learned of it"),
        default=timezone.now,
        help_text=format_lazy(
            _("Starts the {hours}-hour clock of a serious adverse event."),
            hours=P.SAE_REPORT_HOURS,
        ),
    )
    out_of_window = models.BooleanField(
        _("outside the reporting window"),
        default=False,
        help_text=format_lazy(
            _("Onset before the first dose or after the last dose + {days} days."),
            days=P.AE_REPORTING_DAYS_AFTER_LAST_DOSE,
        ),
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        ordering = ["subject", "onset_date", "id"]
        verbose_name = _("adverse event")
        constraints = [
            models.CheckConstraint(
                condition=Q(ongoing=True, end_date__isnull=True)
                | Q(ongoing=False, end_date__isnull=False),
                name="ae_end_date_or_ongoing",
                violation_error_message=_("Enter the end date, or tick ongoing (not both)."),
            ),
            models.CheckConstraint(
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("onset_date")),
                name="ae_end_not_before_onset",
                violation_error_message=_("The end date cannot be before the onset."),
            ),
            models.CheckConstraint(condition=Q(grade__gte=1, grade__lte=5), name="ae_grade_1_to_5"),
        ]

    def __str__(self):
        return f"{self.subject} {self.display_term} grade {self.grade} ({self.onset_date})"

    @property
    def display_term(self) -> str:
        """The CTCAE term, with the verbatim term of an “Other, specify” term."""
        if self.verbatim and self.term.other_specify:
            return f"{self.term.term}: {self.verbatim}"
        return self.term.term

    @property
    def criteria(self) -> list[str]:
        """The seriousness criteria ticked, as field names."""
        return [name for name in SAE_CRITERIA if getattr(self, name)]

    @property
    def fatal(self) -> bool:
        return self.grade == 5 or self.outcome == self.Outcome.FATAL

    @property
    def grade_history_missing(self) -> bool:
        """Stored without its grade at onset: an inconsistent record (every write stores one)."""
        return not self.grade_changes.all()

    @property
    def causality_signed(self) -> bool:
        return self.causality_signed_by_id is not None


@audited
class GradeChange(VersionedModel):
    """The grade of an adverse event from a date on: its grade history (the first at onset)."""

    ae = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="grade_changes")
    grade = grade_field(_("grade"))
    from_date = models.DateField(_("from"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        ordering = ["ae", "from_date"]
        verbose_name = _("grade change")
        constraints = [
            models.UniqueConstraint(fields=["ae", "from_date"], name="gradechange_one_per_date")
        ]

    def __str__(self):
        return f"{self.ae_id}: grade {self.grade} from {self.from_date}"

    def to_pure(self) -> rules.GradeStep:
        return rules.GradeStep(grade=self.grade, from_date=self.from_date)


class SaeReportQuerySet(models.QuerySet):
    def overdue(self):
        return self.filter(submitted_at__isnull=True, due_at__lt=timezone.now())


@audited
class SaeReport(VersionedModel):
    """An expedited report of a serious adverse event: the initial one, then follow-ups."""

    class Kind(models.TextChoices):
        INITIAL = "initial", _("Initial report")
        FOLLOW_UP = "follow_up", _("Follow-up report")

    ae = models.ForeignKey(AdverseEvent, on_delete=models.PROTECT, related_name="sae_reports")
    kind = models.CharField(_("report"), max_length=10, choices=Kind.choices)
    sequence = models.PositiveSmallIntegerField(
        _("sequence"), help_text=_("0 for the initial report, then follow-up 1, 2, ...")
    )
    aware_at = models.DateTimeField(
        _("site aware at"), help_text=_("When the site learned of the SAE (or of the follow-up).")
    )
    due_at = models.DateTimeField(_("due at"))
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    narrative = models.TextField(_("narrative"), blank=True)
    # The investigator's e-signature that submits the report (accounts.signatures): nobody
    # else marks a report submitted. ``signed_hash`` binds it to the content signed.
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    signed_printed_name = models.CharField(max_length=200, blank=True, editable=False)
    signed_at = models.DateTimeField(null=True, blank=True, editable=False)
    signed_hash = models.CharField(max_length=64, blank=True, editable=False)

    SUBMISSION_MEANING = gettext_noop(
        "I have reviewed this serious adverse event report and approve its submission"
    )

    objects = SaeReportQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("SAE report")
        constraints = [
            models.UniqueConstraint(fields=["ae", "sequence"], name="saereport_sequence_unique"),
            models.UniqueConstraint(
                fields=["ae"], condition=Q(kind="initial"), name="saereport_one_initial"
            ),
            models.CheckConstraint(
                condition=Q(kind="initial", sequence=0) | Q(kind="follow_up", sequence__gte=1),
                name="saereport_initial_is_zero",
            ),
        ]

    def __str__(self):
        return f"{self.ae} {self.label}"

    @property
    def label(self) -> str:
        return "Initial report" if self.kind == self.Kind.INITIAL else f"Follow-up {self.sequence}"

    @property
    def overdue(self) -> bool:
        return rules.is_overdue(self.due_at, self.submitted_at, timezone.now())


# Labels shown to users (translated); ``safety.grading`` keeps the English ones for the trail.
LAB_LABELS = {
    "hb": _("Haemoglobin"),
    "wbc": _("WBC"),
    "anc": _("ANC"),
    "plt": _("Platelets"),
    "alt": _("ALT"),
    "ast": _("AST"),
    "bilirubin": _("Total bilirubin"),
    "creatinine": _("Creatinine"),
    "albumin": _("Albumin"),
    "glucose": _("Glucose"),
    "triglycerides": _("Triglycerides"),
    "cholesterol": _("Cholesterol"),
    "urine_protein_dipstick": _("Urine protein (dipstick)"),
    "urine_protein_24h": _("Urine protein (24 h)"),
    "tsh": _("TSH"),
    "ft4": _("Free T4"),
    "qtc": _("QTc"),
    "blood_pressure": _("Blood pressure"),
}
LAB_ANALYTE_CHOICES = [(a.key, a.label) for a in grading.ANALYTES.values()] + [
    ("blood_pressure", "Blood pressure")
]
BP_UNIT = "mm Hg"


@audited
class LabPanel(VersionedModel):
    """Laboratory values, blood pressure and ECG QTc of one sample date (a cycle visit)."""

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="lab_panels")
    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="lab_panels"
    )
    sample_date = models.DateField(_("sample date"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False
    )

    class Meta:
        ordering = ["subject", "-sample_date", "-id"]
        verbose_name = _("lab panel")

    def __str__(self):
        return f"{self.subject} labs {self.sample_date}"


@audited
class LabResult(VersionedModel):
    """One value of a panel as entered, with the CTCAE grade derived by ``safety.grading``.

    ``value`` holds the number (the systolic pressure for blood pressure, with ``diastolic``);
    ``reading`` holds a urine dipstick reading ("2+"). ``lln``/``uln`` are the site's reference
    range in force on the sample date for the subject's sex, in the unit of the value."""

    panel = models.ForeignKey(LabPanel, on_delete=models.PROTECT, related_name="results")
    analyte = models.CharField(_("analyte"), max_length=30, choices=LAB_ANALYTE_CHOICES)
    value = models.DecimalField(_("value"), max_digits=12, decimal_places=3, null=True, blank=True)
    diastolic = models.DecimalField(
        _("diastolic"), max_digits=5, decimal_places=1, null=True, blank=True
    )
    reading = models.CharField(_("reading"), max_length=10, blank=True)
    unit = models.CharField(_("unit"), max_length=10)
    lln = models.DecimalField(_("LLN"), max_digits=12, decimal_places=3, null=True, blank=True)
    uln = models.DecimalField(_("ULN"), max_digits=12, decimal_places=3, null=True, blank=True)
    reference_range = models.ForeignKey(
        ReferenceRange, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    grade = models.PositiveSmallIntegerField(
        _("CTCAE grade"),
        null=True,
        blank=True,
        help_text=_("0 = normal; empty = graded by clinical judgement (nothing guessed)."),
    )
    term = models.CharField(_("CTCAE term"), max_length=120, blank=True)
    definition = models.TextField(_("CTCAE definition"), blank=True)
    note = models.TextField(_("note"), blank=True)
    ae = models.ForeignKey(
        AdverseEvent,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lab_results",
        verbose_name=_("adverse event recorded from it"),
    )

    class Meta:
        ordering = ["panel", "id"]
        verbose_name = _("lab result")
        constraints = [
            models.UniqueConstraint(fields=["panel", "analyte"], name="labresult_one_per_panel")
        ]

    def __str__(self):
        return f"{self.panel} {self.analyte} {self.display_value} {self.unit}"

    @property
    def display_value(self) -> str:
        if self.reading:
            return self.reading
        if self.value is None:
            return ""
        text = _plain(self.value)
        return f"{text}/{_plain(self.diastolic)}" if self.diastolic is not None else text

    @property
    def label(self) -> str:
        spec = grading.ANALYTES.get(self.analyte)
        return spec.label if spec else "Blood pressure"

    @property
    def display_label(self) -> str:
        """The label in the user's language."""
        return LAB_LABELS.get(self.analyte, self.label)


def _plain(value) -> str:
    """3.100 -> "3.1", 120.000 -> "120" (the column keeps 3 places)."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
