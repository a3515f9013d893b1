"""Screening CRF, per-site laboratory reference ranges and the investigator's e-signature.

Models store what was entered; ``eligibility.rules`` derives the verdict.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from accounts.models import Site
from audit.models import VersionedModel, audited
from eligibility.plausibility import PLAUSIBLE
from subjects.models import Subject

YES_NO = [(True, _("Yes")), (False, _("No"))]

ANALYTE_CHOICES = [
    ("hb", _("Haemoglobin")),
    ("anc", _("Absolute neutrophil count")),
    ("plt", _("Platelets")),
    ("creatinine", _("Creatinine")),
    ("creatinine_clearance", _("Creatinine clearance")),
    ("bun", _("Blood urea nitrogen")),
    ("bilirubin", _("Total bilirubin")),
    ("ast", _("AST")),
    ("alt", _("ALT")),
    ("albumin", _("Albumin")),
    ("glucose", _("Fasting glucose")),
    # on-treatment lab panel only (safety)
    ("wbc", _("White blood cells")),
    ("triglycerides", _("Triglycerides")),
    ("cholesterol", _("Total cholesterol")),
    ("urine_protein_24h", _("Urine protein (24 h)")),
    ("tsh", _("TSH")),
    ("ft4", _("Free T4")),
]
UNIT_CHOICES = [
    ("g/L", "g/L"),
    ("g/dL", "g/dL"),
    ("10^9/L", "10⁹/L"),
    ("umol/L", "µmol/L"),
    ("mg/dL", "mg/dL"),
    ("mmol/L", "mmol/L"),
    ("U/L", "U/L"),
    ("mL/min", "mL/min"),
    ("g/24 h", "g/24 h"),
    ("mg/24 h", "mg/24 h"),
    ("mIU/L", "mIU/L"),
    ("pmol/L", "pmol/L"),
    ("ng/dL", "ng/dL"),
]


def yes_no(label, help_text=""):
    """A yes/no question that starts unanswered (never pre-filled)."""
    return models.BooleanField(label, null=True, blank=True, choices=YES_NO, help_text=help_text)


def lab_value(label):
    return models.DecimalField(
        label,
        max_digits=9,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )


def lab_unit():
    return models.CharField(_("unit"), max_length=10, blank=True, choices=UNIT_CHOICES)


@audited
class ReferenceRange(VersionedModel):
    """A site laboratory's normal range for one analyte, in force from ``valid_from`` to
    ``valid_to`` (both days included; no end date: until a later range supersedes it).

    Written only through ``eligibility.ranges`` (reason for change, version, no overlap).
    """

    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="reference_ranges")
    analyte = models.CharField(_("analyte"), max_length=30, choices=ANALYTE_CHOICES)
    unit = models.CharField(_("unit"), max_length=10, choices=UNIT_CHOICES)
    lln = models.DecimalField(
        _("LLN"),
        max_digits=9,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    uln = models.DecimalField(
        _("ULN"),
        max_digits=9,
        decimal_places=3,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    sex = models.CharField(
        _("sex"),
        max_length=1,
        blank=True,
        choices=Subject.Sex.choices,
        help_text=_("Leave empty when the range is the same for both sexes."),
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(
        _("valid to"),
        null=True,
        blank=True,
        help_text=_("The last day the range is in force; empty while it is the current range."),
    )

    class Meta:
        ordering = ["site__code", "analyte", "sex", "-valid_from"]
        verbose_name = _("laboratory reference range")
        constraints = [
            models.UniqueConstraint(
                fields=["site", "analyte", "sex", "valid_from"], name="refrange_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(lln__isnull=True)
                | models.Q(uln__isnull=True)
                | models.Q(lln__lt=models.F("uln")),
                name="refrange_lln_below_uln",
                violation_error_message=_("The LLN must be below the ULN."),
                violation_error_code="lln_not_below_uln",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_to__gte=models.F("valid_from")),
                name="refrange_ends_after_start",
                violation_error_message=_("The range cannot end before it starts."),
                violation_error_code="ends_before_start",
            ),
        ]

    def __str__(self):
        return f"{self.site.code} {self.analyte} {self.lln}–{self.uln} {self.unit}"

    def clean(self):
        from django.core.exceptions import ValidationError

        from eligibility import units

        allowed = units.RANGE_UNITS.get(self.analyte, ())
        known = self.unit in dict(UNIT_CHOICES)  # an unknown one is refused as a choice
        if allowed and known and self.unit not in allowed:
            raise ValidationError(
                {
                    "unit": ValidationError(
                        _("%(u)s is not a unit for this analyte; use %(a)s.")
                        % {"u": self.unit, "a": ", ".join(allowed)},
                        code="unit_not_for_analyte",
                    )
                }
            )


@audited
class Screening(VersionedModel):
    """The screening CRF: everything criteria I01–I09 and E01–E16 need (PROTOCOL.md)."""

    class Histology(models.TextChoices):
        SYNOVIAL = "synovial_sarcoma", _("Synovial sarcoma")
        LEIOMYO = "leiomyosarcoma", _("Leiomyosarcoma")
        LIPO = "liposarcoma", _("Liposarcoma")
        ANGIO = "angiosarcoma", _("Angiosarcoma")
        OTHER = "other_sts", _("Other soft-tissue sarcoma (specify)")
        MPNST = "mpnst", _("Malignant peripheral nerve sheath tumour (excluded)")
        UNDIFF = "undifferentiated_sarcoma", _("Undifferentiated sarcoma (excluded)")
        RHABDO = "rhabdomyosarcoma", _("Rhabdomyosarcoma (excluded)")
        CHONDRO = "chondrosarcoma", _("Chondrosarcoma (excluded)")
        OSTEO = "osteosarcoma", _("Osteosarcoma (excluded)")
        DFSP = "dfsp", _("Dermatofibrosarcoma protuberans (excluded)")
        GIST = "gist", _("Gastrointestinal stromal tumour (excluded)")
        EWING = "ewing_pnet", _("Ewing sarcoma / PNET (excluded)")
        IMT = "imt", _("Inflammatory myofibroblastic tumour (excluded)")
        MESO = "mesothelioma", _("Malignant mesothelioma (excluded)")

    subject = models.OneToOneField(Subject, on_delete=models.PROTECT, related_name="screening")
    first_procedure_date = models.DateField(
        _("date of the first screening procedure"), null=True, blank=True
    )
    planned_c1d1 = models.DateField(_("planned cycle 1 day 1"), null=True, blank=True)
    ecog = models.PositiveSmallIntegerField(
        _("ECOG performance status"), null=True, blank=True, choices=[(i, str(i)) for i in range(6)]
    )
    expected_survival_attested = yes_no(_("Expected survival more than 3 months (investigator)"))

    # Diagnosis
    pathologically_confirmed = yes_no(_("Pathologically confirmed"))
    histology = models.CharField(
        _("histology"), max_length=30, blank=True, choices=Histology.choices
    )
    histology_other = models.CharField(_("other histology, specify"), max_length=200, blank=True)
    advanced_or_metastatic = yes_no(_("Advanced or metastatic"))
    disease_status = models.CharField(
        _("disease"),
        max_length=12,
        blank=True,
        choices=[
            ("measurable", _("Measurable (RECIST 1.1)")),
            ("evaluable", _("Evaluable only")),
            ("none", _("Neither measurable nor evaluable")),
        ],
    )
    liver_metastases = yes_no(_("Liver metastases"))
    brain_metastases = models.CharField(
        _("brain metastases"),
        max_length=12,
        blank=True,
        choices=[
            ("none", _("None")),
            ("controlled", _("Controlled")),
            ("uncontrolled", _("Symptoms not controlled")),
        ],
    )
    brain_metastases_controlled_since = models.DateField(
        _("controlled since"), null=True, blank=True
    )

    # Prior treatment
    anthracycline_first_line = yes_no(_("First-line anthracycline-based chemotherapy"))
    anthracycline_regimen = models.CharField(_("regimen"), max_length=100, blank=True)
    anthracycline_cycles = models.PositiveSmallIntegerField(
        _("number of cycles"), null=True, blank=True, validators=[MaxValueValidator(30)]
    )
    best_response = models.CharField(
        _("best response"),
        max_length=2,
        blank=True,
        choices=[("CR", "CR"), ("PR", "PR"), ("SD", "SD"), ("PD", "PD")],
    )
    last_systemic_therapy_date = models.DateField(
        _("last systemic anti-tumour therapy"), null=True, blank=True
    )
    systemic_therapy_planned = yes_no(
        _("Other systemic anti-tumour therapy planned during the study")
    )
    radiotherapy_type = models.CharField(
        _("last radiotherapy"),
        max_length=16,
        blank=True,
        choices=[
            ("none", _("None")),
            ("local", _("Local")),
            ("extended_field", _("Extended-field")),
        ],
    )
    radiotherapy_date = models.DateField(_("radiotherapy date"), null=True, blank=True)
    surgery_none = yes_no(_("No surgery, incisional biopsy or major trauma"))
    surgery_date = models.DateField(
        _("last surgery / incisional biopsy / major trauma"), null=True, blank=True
    )
    prior_anlotinib = yes_no(_("Prior anlotinib"))
    other_trial_none = yes_no(_("Never in another anti-tumour trial"))
    other_trial_date = models.DateField(_("last other-trial participation"), null=True, blank=True)

    # Laboratory panel
    lab_date = models.DateField(_("laboratory date"), null=True, blank=True)
    hb_value = lab_value(_("haemoglobin"))
    hb_unit = lab_unit()
    anc_value = lab_value(_("ANC (10⁹/L)"))
    plt_value = lab_value(_("platelets (10⁹/L)"))
    creatinine_value = lab_value(_("creatinine"))
    creatinine_unit = lab_unit()
    creatinine_clearance_value = lab_value(_("creatinine clearance (mL/min)"))
    bun_value = lab_value(_("BUN"))
    bun_unit = lab_unit()
    bilirubin_value = lab_value(_("total bilirubin"))
    bilirubin_unit = lab_unit()
    ast_value = lab_value(_("AST (U/L)"))
    alt_value = lab_value(_("ALT (U/L)"))
    albumin_value = lab_value(_("albumin"))
    albumin_unit = lab_unit()

    # Heart, vital signs, other tests
    lvef_percent = models.DecimalField(
        _("LVEF (%)"),
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[
            MinValueValidator(PLAUSIBLE["lvef"][0]),
            MaxValueValidator(PLAUSIBLE["lvef"][1]),
        ],
    )
    echo_date = models.DateField(_("echo date"), null=True, blank=True)
    sbp = models.PositiveSmallIntegerField(
        _("systolic BP (mmHg)"),
        null=True,
        blank=True,
        validators=[
            MinValueValidator(int(PLAUSIBLE["systolic"][0])),
            MaxValueValidator(int(PLAUSIBLE["systolic"][1])),
        ],
    )
    dbp = models.PositiveSmallIntegerField(
        _("diastolic BP (mmHg)"),
        null=True,
        blank=True,
        validators=[
            MinValueValidator(int(PLAUSIBLE["diastolic"][0])),
            MaxValueValidator(int(PLAUSIBLE["diastolic"][1])),
        ],
    )
    on_antihypertensives = yes_no(_("On antihypertensive treatment"))
    qtc_ms = models.PositiveSmallIntegerField(
        _("QTc (ms)"),
        null=True,
        blank=True,
        validators=[
            MinValueValidator(int(PLAUSIBLE["qtc"][0])),
            MaxValueValidator(int(PLAUSIBLE["qtc"][1])),
        ],
    )
    fasting_glucose_value = lab_value(_("fasting glucose"))
    fasting_glucose_unit = lab_unit()
    urine_protein_dipstick = models.PositiveSmallIntegerField(
        _("urine protein (dipstick)"),
        null=True,
        blank=True,
        choices=[(0, _("negative / trace")), (1, "+"), (2, "++"), (3, "+++"), (4, "++++")],
    )
    urine_protein_24h_g = models.DecimalField(
        _("24-h urine protein (g)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(50)],
    )
    hbsag_positive = yes_no(_("HBsAg positive"))
    hbv_dna_iu_ml = models.DecimalField(
        _("HBV DNA (IU/mL)"),
        max_digits=12,
        decimal_places=0,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    hcv_rna_positive = yes_no(_("HCV RNA positive"))

    # Women and contraception
    childbearing_potential = yes_no(_("Woman of childbearing potential"))
    lactating = yes_no(_("Lactating"))
    pregnancy_test_date = models.DateField(_("pregnancy test date"), null=True, blank=True)
    pregnancy_test_type = models.CharField(
        _("pregnancy test"),
        max_length=6,
        blank=True,
        choices=[("serum", _("Serum")), ("urine", _("Urine"))],
    )
    pregnancy_test_result = models.CharField(
        _("pregnancy test result"),
        max_length=8,
        blank=True,
        choices=[("negative", _("Negative")), ("positive", _("Positive"))],
    )
    contraception_agreed = yes_no(_("Agrees to contraception during the study and 6 months after"))

    # Remaining exclusion conditions: explicit yes/no answers
    other_malignancy_5y = yes_no(_("E02 Another malignancy within the last 5 years"))
    unresolved_toxicity_gt1 = yes_no(
        _("E04 Unresolved toxicity > CTCAE grade 1 from earlier treatment (alopecia excepted)")
    )
    cannot_take_oral = yes_no(
        _("E05 Cannot take oral medication (cannot swallow, chronic diarrhoea, obstruction)")
    )
    effusion_dyspnoea_gt2 = yes_no(
        _("E06 Pleural effusion or ascites causing dyspnoea > CTCAE grade 2")
    )
    thyroid_dysfunction = yes_no(_("E08 Thyroid dysfunction despite best supportive treatment"))
    cardiac_disease = yes_no(
        _("E09b Arrhythmia, ≥ grade II myocardial ischaemia or infarction, NYHA ≥ 2 heart failure")
    )
    active_infection_ge2 = yes_no(_("E09d Active infection ≥ CTCAE grade 2"))
    infection_needing_antimicrobials = yes_no(_("E09e Infection needing antimicrobials"))
    seizures_needing_treatment = yes_no(_("E09g Seizures needing treatment"))
    major_vessel_invasion_risk = yes_no(
        _(
            "E11 Tumour likely to invade major vessels / cause fatal haemorrhage, or tumour "
            "thrombus in a large vein (investigator)"
        )
    )
    unhealed_wound_or_fracture = yes_no(_("E12 Unhealed major wound, ulcer or fracture"))
    bleeding_gt3_4w = yes_no(_("E12 Bleeding > CTCAE grade 3 within 4 weeks"))
    thrombosis_6m = yes_no(_("E13 Arterial or venous thrombosis within 6 months"))
    psychiatric_or_substance = yes_no(_("E14 Psychotropic substance abuse or mental disorder"))
    investigator_unsafe_judgement = yes_no(
        _("E16 Any other condition the investigator judges unsafe (investigator)")
    )

    class Meta:
        verbose_name = _("screening")

    def __str__(self):
        return f"Screening of {self.subject}"


@audited
class EligibilitySignature(models.Model):
    """An investigator's electronic signature of the eligibility verdict (21 CFR 11.50/11.70).

    Bound to ``data_hash``, the SHA-256 of the screening data and reference ranges it
    covered: when the data changes the signature is voided, visibly, with the reason. The
    judgement criteria the investigator attested when signing are ``attested_criteria``;
    ``signature_hash`` binds them with the data hash, the meaning and the signer.
    """

    # Recorded (and hashed) in English, the language of the record; shown translated too.
    MEANING = gettext_noop("I confirm this subject meets all eligibility criteria")

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="signatures")
    signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    printed_name = models.CharField(max_length=200)
    meaning = models.CharField(max_length=200)
    signed_at = models.DateTimeField(db_default=Now(), editable=False)
    data_hash = models.CharField(max_length=64)
    verdict = models.JSONField()
    attested_criteria = models.JSONField(
        default=list,
        blank=True,
        help_text=_(
            "The judgement criteria (eligibility.rules.JUDGEMENT_CRITERIA) the signer attested "
            "one by one when signing; empty for signatures made before attestations existed."
        ),
    )
    signature_hash = models.CharField(
        max_length=64,
        blank=True,
        help_text=_(
            "SHA-256 of what the signature binds: the data hash, the meaning, the attested "
            "criteria and the signer."
        ),
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-signed_at", "-id"]
        verbose_name = _("eligibility signature")

    def __str__(self):
        return f"{self.printed_name} signed {self.subject} ({self.signed_at:%Y-%m-%d %H:%M} UTC)"

    @property
    def is_void(self) -> bool:
        return self.voided_at is not None
