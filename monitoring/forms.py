from django import forms
from django.utils.translation import gettext_lazy as _

from alter_s006 import forms as edc
from monitoring.models import Hold, Level


class HoldForm(edc.Form):
    kind = forms.ChoiceField(choices=Hold.Kind.choices, widget=forms.HiddenInput)
    level = forms.ChoiceField(choices=Level.choices, widget=forms.HiddenInput)
    visit = edc.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    record_type = forms.CharField(required=False, widget=forms.HiddenInput, max_length=60)
    record_id = edc.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(
        label=_("Reason"), max_length=500, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )


class LiftForm(edc.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500)
    confirm = forms.BooleanField(
        label=_("I understand that the signatures listed above will be voided."), required=False
    )


class UnverifyForm(edc.Form):
    field = forms.CharField(required=False, widget=forms.HiddenInput, max_length=60)
    comment = forms.CharField(label=_("Why is the verification removed?"), max_length=500)


class SignForm(edc.Form):
    shown_hash = forms.CharField(widget=forms.HiddenInput, max_length=64)
    password = forms.CharField(
        label=_("Your password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        max_length=128,
    )


class BulkSignForm(edc.Form):
    password = forms.CharField(
        label=_("Your password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        max_length=128,
    )
