from crispy_forms.bootstrap import InlineRadios
from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Div, Fieldset, Layout
from django import forms
from django.utils.translation import gettext_lazy as _

from alter_s006 import forms as edc
from eligibility import units
from eligibility.models import Screening
from eligibility.validation import DATES, LAB_FIELDS, PAST_DATES, unit_label

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

__all__ = ["LAB_FIELDS", "PAST_DATES", "ScreeningForm", "SignatureForm", "unit_label"]


def _row(*names):
    return Div(*[Div(n, css_class="col-md") for n in names], css_class="row")


class ScreeningForm(edc.ParseOnly, edc.ModelForm):
    version = edc.VersionField(required=False)
    reason = forms.CharField(
        label=_("Reason for change"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required once the screening was first saved; recorded in the audit trail."),
    )

    class Meta:
        model = Screening
        fields = [
            f.name
            for f in Screening._meta.fields
            if f.editable and f.name not in {"id", "subject", "version"}
        ]
        widgets = dict.fromkeys(DATES, DATE)

    def __init__(self, *args, saved: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.saved = saved
        for name, field in self.fields.items():
            if isinstance(field, forms.TypedChoiceField | forms.NullBooleanField) and (
                name in _yes_no_fields()
            ):
                self.fields[name] = forms.TypedChoiceField(
                    label=field.label,
                    required=False,
                    help_text=field.help_text,
                    choices=[("True", _("Yes")), ("False", _("No"))],
                    coerce=lambda v: {"True": True, "False": False}.get(v),
                    empty_value=None,
                    widget=forms.RadioSelect,
                )
        for _value_field, unit_field, analyte in LAB_FIELDS:
            if unit_field:
                self.fields[unit_field].choices = [("", "—")] + [
                    (u, unit_label(u)) for u in units.UNITS[analyte]
                ]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = _layout(saved)


def _yes_no_fields() -> set[str]:
    return {
        f.name
        for f in Screening._meta.fields
        if getattr(f, "null", False) and f.get_internal_type() == "BooleanField"
    }


def _layout(saved: bool) -> Layout:
    yes_no = _yes_no_fields()

    def radios(*names):
        return [InlineRadios(n) if n in yes_no else n for n in names]

    parts = [
        Fieldset(
            _("Consent, performance status and plan"),
            _row("first_procedure_date", "planned_c1d1"),
            _row("ecog"),
            *radios("expected_survival_attested"),
        ),
        Fieldset(
            _("Diagnosis"),
            *radios("pathologically_confirmed"),
            _row("histology", "histology_other"),
            *radios("advanced_or_metastatic"),
            _row("disease_status"),
            *radios("liver_metastases"),
            _row("brain_metastases", "brain_metastases_controlled_since"),
        ),
        Fieldset(
            _("Prior treatment"),
            *radios("anthracycline_first_line"),
            _row("anthracycline_regimen", "anthracycline_cycles", "best_response"),
            _row("last_systemic_therapy_date"),
            *radios("systemic_therapy_planned"),
            _row("radiotherapy_type", "radiotherapy_date"),
            *radios("surgery_none"),
            _row("surgery_date"),
            *radios("prior_anlotinib", "other_trial_none"),
            _row("other_trial_date"),
        ),
        Fieldset(
            _("Laboratory panel"),
            _row("lab_date"),
            _row("hb_value", "hb_unit"),
            _row("anc_value", "plt_value"),
            _row("creatinine_value", "creatinine_unit", "creatinine_clearance_value"),
            _row("bun_value", "bun_unit"),
            _row("bilirubin_value", "bilirubin_unit"),
            _row("ast_value", "alt_value"),
            _row("albumin_value", "albumin_unit"),
        ),
        Fieldset(
            _("Heart, blood pressure and other tests"),
            _row("lvef_percent", "echo_date"),
            _row("sbp", "dbp"),
            *radios("on_antihypertensives"),
            _row("qtc_ms"),
            _row("fasting_glucose_value", "fasting_glucose_unit"),
            _row("urine_protein_dipstick", "urine_protein_24h_g"),
            *radios("hbsag_positive"),
            _row("hbv_dna_iu_ml"),
            *radios("hcv_rna_positive"),
        ),
        Fieldset(
            _("Women and contraception"),
            *radios("childbearing_potential", "lactating"),
            _row("pregnancy_test_date", "pregnancy_test_type", "pregnancy_test_result"),
            *radios("contraception_agreed"),
        ),
        Fieldset(
            _("Other exclusion conditions (answer every question)"),
            *radios(
                "other_malignancy_5y",
                "unresolved_toxicity_gt1",
                "cannot_take_oral",
                "effusion_dyspnoea_gt2",
                "thyroid_dysfunction",
                "cardiac_disease",
                "active_infection_ge2",
                "infection_needing_antimicrobials",
                "seizures_needing_treatment",
                "major_vessel_invasion_risk",
                "unhealed_wound_or_fracture",
                "bleeding_gt3_4w",
                "thrombosis_6m",
                "psychiatric_or_substance",
                "investigator_unsafe_judgement",
            ),
        ),
        "version",
    ]
    if saved:
        parts.append(Fieldset(_("Reason for change"), "reason"))
    else:
        parts.append(HTML(""))
    return Layout(*parts)


class SignatureForm(forms.Form):
    """The password, and one tick per judgement criterion awaiting the investigator's own
    attestation (``pending``: the rows of ``services.criteria_rows``). The service refuses the
    signature until every one is ticked (``attestation_required``)."""

    attested_criteria = forms.MultipleChoiceField(
        label=_("I attest, on my own judgement as investigator"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    password = forms.CharField(
        strip=False,
        label=_("Your password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Re-enter your password to sign. Failed attempts count towards the lockout."),
    )

    def __init__(self, *args, pending=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["attested_criteria"]
        field.choices = [(row["code"], f"{row['code']} {row['title']}") for row in pending]
        if not pending:
            del self.fields["attested_criteria"]
