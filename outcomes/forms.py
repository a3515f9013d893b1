"""Forms of the outcome pages. They only parse what the browser sends; every check is the
service's (``outcomes.services``), whose error keys are these field names (the subsequent
therapies' rows: ``therapies-<i>-<field>``, the formset's own names)."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from alter_s006 import forms as edc
from alter_s006 import protocol as P
from outcomes.models import (
    Autopsy,
    ContactMode,
    DeathCause,
    StopReason,
    VitalStatus,
    WithdrawalScope,
)
from safety.models import AdverseEvent

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
LINE_LOW, LINE_HIGH = P.SUBSEQUENT_THERAPY_LINES


class AeChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _("%(term)s, grade %(grade)s, from %(onset)s") % {
            "term": obj.display_term,
            "grade": obj.grade,
            "onset": obj.onset_date.isoformat(),
        }


def _aes(subject):
    return (
        AdverseEvent.objects.filter(subject=subject)
        .select_related("term")
        .order_by("-onset_date", "-id")
    )


class CorrectionForm(edc.Form):
    """A form whose later saves are corrections: the version opened and a reason."""

    version = edc.VersionField(required=False)
    reason = forms.CharField(label=_("Reason for change"), required=False, max_length=500)

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
        """The form's values for the service (the correction's own fields aside)."""
        return {k: v for k, v in self.cleaned_data.items() if k not in ("version", "reason")}

    def correction(self) -> dict:
        if not self.correcting:
            return {}
        return {
            "expected_version": self.cleaned_data.get("version"),
            "reason": self.cleaned_data.get("reason", ""),
        }


class EndOfTreatmentForm(CorrectionForm):
    decision_date = edc.DateField(label=_("Date of the decision to stop"), widget=DATE)
    stop_reason = forms.ChoiceField(label=_("Reason"), choices=[("", "—"), *StopReason.choices])
    toxicity_ae = AeChoice(
        label=_("Adverse event"),
        queryset=AdverseEvent.objects.none(),
        required=False,
        help_text=_("Required when the reason is toxicity."),
    )
    reason_other = forms.CharField(label=_("Other reason"), required=False, max_length=300)

    def __init__(self, *args, subject, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["toxicity_ae"].queryset = _aes(subject)
        self.order_fields(["decision_date", "stop_reason", "toxicity_ae", "reason_other"])


class DeathForm(CorrectionForm):
    death_date = edc.DateField(label=_("Date of death"), widget=DATE)
    cause = forms.ChoiceField(label=_("Primary cause"), choices=[("", "—"), *DeathCause.choices])
    cause_ae = AeChoice(
        label=_("Adverse event"),
        queryset=AdverseEvent.objects.none(),
        required=False,
        help_text=_("Required when the cause is an adverse event (a term that has grade 5)."),
    )
    cause_other = forms.CharField(label=_("Other cause"), required=False, max_length=300)
    autopsy = forms.ChoiceField(
        label=_("Autopsy"), choices=Autopsy.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args, subject, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cause_ae"].queryset = _aes(subject)
        self.order_fields(["death_date", "cause", "cause_ae", "cause_other", "autopsy"])


class SurvivalFollowUpForm(CorrectionForm):
    contact_date = edc.DateField(label=_("Contact date"), widget=DATE)
    mode = forms.ChoiceField(label=_("Mode of contact"), choices=ContactMode.choices)
    status = forms.ChoiceField(
        label=_("Status"), choices=VitalStatus.choices, widget=forms.RadioSelect
    )
    last_known_alive = edc.DateField(
        label=_("Last date known alive"),
        widget=DATE,
        required=False,
        help_text=_("Required if alive or lost to follow-up; not after the contact date."),
    )
    new_progression_date = edc.DateField(
        label=_("New progression date"),
        widget=DATE,
        required=False,
        help_text=_("Only if no progression is recorded yet."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(
            ["contact_date", "mode", "status", "last_known_alive", "new_progression_date"]
        )


class TherapyForm(edc.Form):
    regimen = forms.CharField(label=_("Regimen"), required=False, max_length=200)
    start_date = edc.DateField(label=_("Start date"), widget=DATE, required=False)
    line = edc.IntegerField(
        label=_("Line of therapy"),
        required=False,
        help_text=format_lazy(_("From {low} to {high}."), low=LINE_LOW, high=LINE_HIGH),
    )

    def is_blank(self) -> bool:
        data = getattr(self, "cleaned_data", {}) or {}
        return not any(data.get(name) for name in ("regimen", "start_date", "line"))


TherapyFormSet = forms.formset_factory(TherapyForm, extra=2, max_num=LINE_HIGH)


class WithdrawalForm(CorrectionForm):
    withdrawal_date = edc.DateField(label=_("Date of withdrawal"), widget=DATE)
    scope = forms.ChoiceField(
        label=_("Scope"), choices=WithdrawalScope.choices, widget=forms.RadioSelect
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(["withdrawal_date", "scope"])
