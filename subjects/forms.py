"""Subject pages' forms: they parse the browser's strings into typed values, nothing more.

The service each view calls (``subjects.services``) is the one validation of the CRF, for the
pages and the API alike (issue 11 A1): the model forms here do not run the model's checks.
"""

from crispy_forms.helper import FormHelper
from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from alter_s006 import forms as edc
from alter_s006 import protocol as P
from subjects import lifecycle, services, validation
from subjects.models import STATUS_LABELS, Subject

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ReasonMixin(edc.Form):
    """Reason for change and the version the form was opened at (optimistic lock)."""

    version = edc.VersionField()
    reason = forms.CharField(
        label=_("Reason for change"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required: recorded in the audit trail with your name and the time."),
    )


class SubjectRegistrationForm(edc.ParseOnly, edc.ModelForm):
    class Meta:
        model = Subject
        fields = [
            "site",
            "sex",
            "date_of_birth",
            "year_of_birth",
            "initials",
            "consent_date",
            "consent_version",
        ]
        widgets = {"date_of_birth": DATE, "consent_date": DATE}

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.fields["site"].empty_label = None if sites.count() == 1 else "—"
        self.fields["site"].error_messages["invalid_choice"] = validation.UNKNOWN_SITE
        self.helper = FormHelper()
        self.helper.form_tag = False


class SubjectCorrectionForm(edc.ParseOnly, ReasonMixin, edc.ModelForm):
    class Meta:
        model = Subject
        fields = [
            "sex",
            "date_of_birth",
            "year_of_birth",
            "initials",
            "consent_date",
            "consent_version",
        ]
        widgets = {"date_of_birth": DATE, "consent_date": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class TransitionForm(edc.Form):
    version = edc.VersionField()
    target = forms.ChoiceField(label=_("New status"))
    on_date = edc.DateField(label=_("Date"), widget=DATE)
    c1d1 = edc.DateField(
        label=_("Planned cycle 1 day 1"),
        required=False,
        widget=DATE,
        help_text=_("Needed to enrol: the visit schedule is planned from it."),
    )
    last_dose = edc.DateField(
        label=_("Date of last dose"),
        required=False,
        widget=DATE,
        help_text=format_lazy(
            _("Needed to stop treatment: the safety follow-up is {days} days after it."),
            days=P.SAFETY_FOLLOW_UP_DAYS_AFTER_LAST_DOSE,
        ),
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        max_length=services.REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when the subject leaves screening, treatment or the study."),
    )

    def __init__(self, *args, subject, **kwargs):
        super().__init__(*args, **kwargs)
        # Any status is accepted, so that the lifecycle itself explains why a change is
        # refused (beside this field); the menu offers only the changes allowed now.
        self.fields["target"].choices = [
            (s.value, STATUS_LABELS[s]) for s in lifecycle.SubjectStatus
        ]
        # No change is preselected: the coordinator chooses one explicitly.
        self.fields["target"].widget.choices = [("", _("— choose the new status —"))] + [
            (s.value, STATUS_LABELS[s]) for s in lifecycle.allowed_targets(subject.lifecycle_status)
        ]
        self.helper = FormHelper()
        self.helper.form_tag = False


class VisitForm(edc.Form):
    version = edc.VersionField()
    actual_date = edc.DateField(label=_("Visit date"), required=False, widget=DATE)
    missed = forms.BooleanField(label=_("Visit missed"), required=False)
    note = forms.CharField(label=_("Note"), required=False, max_length=500)
    reason = forms.CharField(
        label=_("Reason for change"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required when you change a visit already recorded."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class UnscheduledVisitForm(edc.Form):
    on_date = edc.DateField(label=_("Visit date"), widget=DATE)
    note = forms.CharField(
        label=_("Why the patient came"),
        max_length=500,
        required=False,
        help_text=_("E.g. a symptom, a lab check, a dose-modification review."),
    )
