"""Dosing pages' forms: they parse the browser's strings into typed values, nothing more.

``dosing.services`` is the one validation of each CRF, for the pages and the API alike
(issue 11 A1): the model forms here do not run the model's checks.
"""

from crispy_forms.helper import FormHelper
from django import forms
from django.utils.translation import gettext_lazy as _

from alter_s006 import forms as edc
from alter_s006 import protocol as P
from dosing.models import Dispensing, DoseEvent

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class DoseEventForm(edc.ParseOnly, edc.ModelForm):
    class Meta:
        model = DoseEvent
        fields = ["kind", "start", "end", "dose_mg", "cycle", "days", "reason", "detail"]
        widgets = {"start": DATE, "end": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not P.ALLOW_REESCALATION:  # PROTOCOL.md: no re-escalation unless configured
            self.fields["kind"].choices = [
                c for c in DoseEvent.Kind.choices if c[0] != DoseEvent.Kind.REESCALATION
            ]
        self.helper = FormHelper()
        self.helper.form_tag = False


class DispensingForm(edc.ParseOnly, edc.ModelForm):
    class Meta:
        model = Dispensing
        fields = ["dispensed_on", "strength_mg", "lot_number", "expiry", "capsules"]
        widgets = {"dispensed_on": DATE, "expiry": DATE}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper()
        self.helper.form_tag = False


class ReturnForm(edc.Form):
    version = edc.VersionField()
    returned_on = edc.DateField(label=_("Returned on"), widget=DATE)
    # Bounds (not negative, not more than dispensed) are the service's checks.
    returned = edc.IntegerField(label=_("Capsules returned"))
    reported_missed = edc.IntegerField(label=_("Missed doses reported"), required=False)
    reason = forms.CharField(label=_("Reason for change"), required=False, max_length=500)
