"""Forms of the safety pages. Field names are the service's error keys (AE model fields,
``grade_from``, ``<analyte>-value`` / ``<analyte>-unit``, ``systolic`` / ``diastolic``)."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from alter_s006 import forms as edc
from alter_s006 import protocol as P
from alter_s006.templatetags.edc_format import format_unit
from crfs.soa import forms_of_kind
from safety import grading
from safety.models import LAB_LABELS, SAE_CRITERIA, AdverseEvent, CtcaeTerm

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
DATETIME = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class DoseEventChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        dose = f" → {obj.dose_mg} mg" if obj.dose_mg else ""
        return (
            f"{obj.get_kind_display()} {obj.start.isoformat()}{dose} ({obj.get_reason_display()})"
        )


class AdverseEventForm(edc.Form):
    """Record (``correcting=False``) or update an adverse event."""

    term = forms.ModelChoiceField(
        queryset=CtcaeTerm.objects.all(),
        widget=forms.HiddenInput,  # the term chooser renders it (safety/_term_panel.html)
        error_messages={"required": _("Choose the CTCAE term.")},
    )
    grade = forms.TypedChoiceField(
        coerce=int,
        choices=[(g, str(g)) for g in range(1, 6)],
        error_messages={"required": _("Choose the grade.")},
    )
    verbatim = forms.CharField(label=_("Verbatim term"), required=False, max_length=200)
    onset_date = edc.DateField(label=_("Onset"), widget=DATE)
    ongoing = forms.BooleanField(label=_("Ongoing"), required=False)
    end_date = edc.DateField(label=_("End"), widget=DATE, required=False)
    serious = forms.BooleanField(label=_("Serious adverse event"), required=False)
    sae_death = forms.BooleanField(label=_("Results in death"), required=False)
    sae_life_threatening = forms.BooleanField(label=_("Life-threatening"), required=False)
    sae_hospitalisation = forms.BooleanField(
        label=_("Requires or prolongs hospitalisation"), required=False
    )
    sae_disability = forms.BooleanField(
        label=_("Persistent or significant disability"), required=False
    )
    sae_congenital_anomaly = forms.BooleanField(
        label=_("Congenital anomaly / birth defect"), required=False
    )
    sae_important_medical_event = forms.BooleanField(
        label=_("Important medical event"), required=False
    )
    action_taken = forms.ChoiceField(
        label=_("Action taken with anlotinib"), choices=AdverseEvent.Action.choices
    )
    dose_event = DoseEventChoice(
        label=_("Dose modification record"),
        queryset=None,
        required=False,
        help_text=_("The interruption, reduction or discontinuation in the dosing calendar."),
    )
    treatment_given = forms.CharField(
        label=_("Treatment given"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    outcome = forms.ChoiceField(
        label=pgettext_lazy("adverse event", "Outcome"),
        choices=[("", "—")] + AdverseEvent.Outcome.choices,
    )
    learned_on = edc.DateTimeField(
        label=_("Site learned of it"),
        widget=DATETIME,
        required=False,
        help_text=format_lazy(
            _("Starts the {hours}-hour clock of a serious adverse event (default: now)."),
            hours=P.SAE_REPORT_HOURS,
        ),
    )
    lab_result = edc.IntegerField(widget=forms.HiddenInput, required=False)
    # corrections
    version = edc.VersionField(required=False)
    grade_from = edc.DateField(
        label=_("New grade from"),
        widget=DATE,
        required=False,
        help_text=_("The date the grade changed (kept in the grade history)."),
    )
    sae_aware_at = edc.DateTimeField(
        label=_("Site learned it became serious"), widget=DATETIME, required=False
    )
    reason = forms.CharField(label=_("Reason for change"), required=False, max_length=500)

    def __init__(self, *args, subject, correcting=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.correcting = correcting
        self.fields["dose_event"].queryset = subject.dose_events.exclude(kind="reescalation")
        if correcting:
            del self.fields["lab_result"]
            self.fields["version"].required = True
        else:
            for name in ("version", "grade_from", "sae_aware_at", "reason"):
                del self.fields[name]
        self.helper = FormHelper()
        self.helper.form_tag = False

    def criteria_fields(self):
        return [self[name] for name in SAE_CRITERIA]

    def chosen_term(self) -> CtcaeTerm | None:
        """The term posted or initial, for the grade buttons beside it."""
        raw = self.data.get("term") if self.is_bound else self.initial.get("term")
        if isinstance(raw, CtcaeTerm):
            return raw
        try:
            return CtcaeTerm.objects.get(pk=int(raw))
        except (TypeError, ValueError, CtcaeTerm.DoesNotExist):
            return None

    def chosen_grade(self):
        raw = self.data.get("grade") if self.is_bound else self.initial.get("grade")
        try:
            return int(raw)
        except (TypeError, ValueError):
            return None

    def values(self) -> dict:
        """The service's keyword arguments for the AE fields."""
        data = dict(self.cleaned_data)
        for name in ("version", "grade_from", "sae_aware_at", "reason", "lab_result"):
            data.pop(name, None)
        if not data.get("learned_on"):
            data.pop("learned_on", None)
        return data


class CausalityForm(edc.Form):
    version = edc.VersionField()
    relationship = forms.ChoiceField(
        label=_("Relationship to anlotinib"),
        choices=[("", "—")] + AdverseEvent.Relationship.choices,
        widget=forms.RadioSelect,
    )
    password = forms.CharField(
        label=_("Your password (e-signature)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class DraftReportForm(edc.Form):
    """Prepare an SAE report (coordinator or investigator): the narrative, not submitted."""

    version = edc.VersionField()
    narrative = forms.CharField(
        label=_("Narrative"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=10000,
    )


class SubmitReportForm(edc.Form):
    """Submit an SAE report: the investigator's e-signature (password re-entered), bound to
    the content shown by ``data_hash``."""

    data_hash = forms.CharField(widget=forms.HiddenInput, required=False)
    narrative = forms.CharField(
        label=_("Narrative"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=10000,
    )
    password = forms.CharField(
        label=_("Your password (e-signature)"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def _unit_choices(analyte) -> list[tuple[str, str]]:
    """Stored as the services read them ("10^9/L"), shown as written ("10⁹/L")."""
    return [(u, format_unit(u)) for u in grading.ANALYTES[analyte].units]


PANEL_GROUPS = [
    (_("Haematology"), ("hb", "wbc", "anc", "plt")),
    (
        _("Chemistry"),
        (
            "alt",
            "ast",
            "bilirubin",
            "creatinine",
            "albumin",
            "glucose",
            "triglycerides",
            "cholesterol",
        ),
    ),
    (_("Urine protein"), ("urine_protein_dipstick", "urine_protein_24h")),
    (_("Thyroid"), ("tsh", "ft4")),
    (_("ECG"), ("qtc",)),
]
INPUT = {"class": "form-control form-control-sm"}
SEL = {"class": "form-select form-select-sm lab-unit"}
DIPSTICK = [("", "—")] + [(r, r) for r in ("negative", "trace", "1+", "2+", "3+", "4+")]


class LabPanelForm(edc.Form):
    """A value and a unit per analyte (blank = not done), blood pressure and QTc."""

    sample_date = edc.DateField(label=_("Sample date"), widget=DATE)
    visit = forms.ModelChoiceField(label=_("Cycle visit"), queryset=None, required=False)
    systolic = edc.DecimalField(label=_("Systolic (mm Hg)"), required=False, min_value=0)
    diastolic = edc.DecimalField(label=_("Diastolic (mm Hg)"), required=False, min_value=0)
    qtc_confirmed = forms.BooleanField(
        label=_("QTc ≥ 501 ms on a second, separate ECG"), required=False
    )

    def __init__(self, *args, subject, **kwargs):
        super().__init__(*args, **kwargs)
        # the visits whose schedule of assessments has a lab panel (cycles, end of treatment)
        self.fields["visit"].queryset = subject.visits.filter(
            kind__in=[k for k in P.SCHEDULE_OF_ASSESSMENTS if "lab_panel" in forms_of_kind(k)]
        ).order_by("target_date")
        self.fields["visit"].label_from_instance = lambda v: (
            f"{v.code} ({(v.actual_date or v.target_date).isoformat()})"
        )
        for _group, analytes in PANEL_GROUPS:
            for analyte in analytes:
                if analyte == "urine_protein_dipstick":
                    value = forms.ChoiceField(
                        label=LAB_LABELS[analyte],
                        choices=DIPSTICK,
                        required=False,
                        widget=forms.Select(SEL),
                    )
                else:
                    value = forms.CharField(
                        label=LAB_LABELS[analyte],
                        required=False,
                        max_length=20,
                        widget=forms.TextInput(attrs=INPUT | {"inputmode": "decimal"}),
                    )
                self.fields[f"{analyte}-value"] = value
                self.fields[f"{analyte}-unit"] = forms.ChoiceField(
                    label=_("unit"),
                    choices=_unit_choices(analyte),
                    required=False,
                    widget=forms.Select(SEL),
                )

    def groups(self):
        return [
            (title, [(a, self[f"{a}-value"], self[f"{a}-unit"]) for a in analytes])
            for title, analytes in PANEL_GROUPS
        ]

    def values(self) -> dict[str, tuple[str, str]]:
        out = {}
        for _group, analytes in PANEL_GROUPS:
            for analyte in analytes:
                raw = (self.cleaned_data.get(f"{analyte}-value") or "").strip()
                if raw:
                    unit = self.cleaned_data.get(f"{analyte}-unit")
                    out[analyte] = (raw, unit or grading.ANALYTES[analyte].units[0])
        return out


class LabCorrectionForm(LabPanelForm):
    """The recorded panel as it should read, with the reason for the correction."""

    version = edc.VersionField()
    reason = forms.CharField(
        label=_("Reason for change"),
        max_length=500,
        widget=forms.TextInput(attrs={"class": "form-control"}),
    )

    @staticmethod
    def initial_for(panel) -> dict:
        initial = {
            "version": panel.version,
            "sample_date": panel.sample_date,
            "visit": panel.visit_id,
        }
        for r in panel.results.all():
            if r.analyte == "blood_pressure":
                initial["systolic"] = r.value
                initial["diastolic"] = r.diastolic
                continue
            initial[f"{r.analyte}-value"] = r.reading or _plain_number(r.value)
            initial[f"{r.analyte}-unit"] = r.unit
        return initial


def _plain_number(value) -> str:
    if value is None:
        return ""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
