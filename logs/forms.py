"""Forms of the log pages: they only parse what the browser sends; ``logs.services`` checks.
Field names are the services' error keys."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.utils.translation import gettext_lazy as _

from alter_s006 import forms as edc
from alter_s006 import protocol as P
from logs.models import ConMed, Deviation, DoseUnit, Frequency, Route
from safety.models import CtcaeTerm

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class _LogForm(edc.Form):
    """Record (``correcting=False``) or correct (version and reason) one log entry."""

    version = edc.VersionField(required=False)
    reason = forms.CharField(label=_("Reason for change"), required=False, max_length=500)
    NOT_VALUES = ("version", "reason")

    def __init__(self, *args, correcting=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.correcting = correcting
        if correcting:
            self.fields["version"].required = True
        else:
            del self.fields["version"]
            del self.fields["reason"]
        self.helper = FormHelper()
        self.helper.form_tag = False

    def values(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in self.NOT_VALUES}


class ConMedForm(_LogForm):
    name = forms.CharField(
        label=_("Medication"),
        max_length=200,
        help_text=_("Generic name preferred; names already used at the site are offered."),
        widget=forms.TextInput(attrs={"list": "con-med-names", "autocomplete": "off"}),
    )
    indication = forms.CharField(label=_("Indication"), max_length=300, required=False)
    indication_ae = forms.ModelChoiceField(
        label=_("For the adverse event"), queryset=None, required=False
    )
    indication_history = forms.ModelChoiceField(
        label=_("For the medical-history condition"), queryset=None, required=False
    )
    dose = edc.DecimalField(label=_("Dose"), max_digits=12, decimal_places=4, required=False)
    unit = forms.ChoiceField(label=_("Unit"), choices=[("", "—"), *DoseUnit.choices])
    route = forms.ChoiceField(label=_("Route"), choices=[("", "—"), *Route.choices])
    frequency = forms.ChoiceField(label=_("Frequency"), choices=[("", "—"), *Frequency.choices])
    start_date = edc.DateField(label=_("Start"), widget=DATE, required=False)
    ongoing = forms.BooleanField(label=_("Ongoing"), required=False)
    stop_date = edc.DateField(label=_("Stop"), widget=DATE, required=False)
    field_order = ["name", "indication", "indication_ae", "indication_history", "dose", "unit",
                   "route", "frequency", "start_date", "ongoing", "stop_date"]  # fmt: skip

    def __init__(self, *args, subject, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indication_ae"].queryset = subject.adverse_events.select_related("term")
        self.fields["indication_ae"].label_from_instance = lambda ae: (
            f"{ae.display_term} ({ae.onset_date.isoformat()})"
        )
        self.fields["indication_history"].queryset = subject.medical_history.select_related("term")
        self.fields["indication_history"].label_from_instance = lambda mh: mh.display_condition


class TermNameField(forms.CharField):
    """A CTCAE v4.03 term typed by name (the page offers the dictionary's names)."""

    def clean(self, value):
        name = super().clean(value).strip()
        if not name:
            return None
        term = CtcaeTerm.objects.filter(term__iexact=name).first()
        if term is None:
            raise forms.ValidationError(
                _("“%(name)s” is not a CTCAE v4.03 term: choose one from the list, or leave it "
                  "empty and describe the condition."),
                code="unknown_term",
                params={"name": name},
            )  # fmt: skip
        return term


class HistoryForm(_LogForm):
    term = TermNameField(
        label=_("CTCAE term"),
        required=False,
        max_length=120,
        widget=forms.TextInput(attrs={"list": "ctcae-terms", "autocomplete": "off"}),
    )
    condition = forms.CharField(
        label=_("Condition (free text)"),
        max_length=200,
        required=False,
        help_text=_("When no CTCAE term fits, or the detail of the term."),
    )
    start_date = edc.DateField(label=_("Start"), widget=DATE, required=False)
    ongoing = forms.BooleanField(label=_("Ongoing"), required=False)
    end_date = edc.DateField(label=_("End"), widget=DATE, required=False)
    baseline_grade = forms.TypedChoiceField(
        label=_("Grade at baseline"),
        coerce=int,
        empty_value=None,
        required=False,
        choices=[("", "—")]
        + [(g, str(g)) for g in range(P.BASELINE_GRADE_MIN, P.BASELINE_GRADE_MAX + 1)],
    )

    def __init__(self, *args, **kwargs):
        initial = kwargs.get("initial") or {}
        if isinstance(initial.get("term"), CtcaeTerm):
            kwargs["initial"] = {**initial, "term": initial["term"].term}
        super().__init__(*args, **kwargs)


class DeviationForm(_LogForm):
    category = forms.ChoiceField(
        label=_("Category"), choices=[("", "—"), *Deviation.Category.choices]
    )
    description = forms.CharField(
        label=_("Description"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    occurred_on = edc.DateField(label=_("Date"), widget=DATE, required=False)


class DecisionForm(edc.Form):
    """The site confirms or dismisses (with a reason) a deviation."""

    version = edc.VersionField()
    decision = forms.ChoiceField(
        choices=[("confirm", _("Confirm")), ("dismiss", _("Dismiss"))], widget=forms.HiddenInput
    )
    reason = forms.CharField(label=_("Reason for dismissing"), required=False, max_length=500)


__all__ = ["ConMed", "ConMedForm", "DecisionForm", "DeviationForm", "HistoryForm"]
