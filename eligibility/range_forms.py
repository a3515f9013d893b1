"""Forms of the reference-range pages: they type what was entered; ``eligibility.ranges``
decides whether it may be saved (overlap, limits, unit, dates)."""

from __future__ import annotations

from crispy_forms.helper import FormHelper
from django import forms
from django.utils.translation import gettext_lazy as _

from alter_s006 import forms as edc
from eligibility.models import ANALYTE_CHOICES, ReferenceRange

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PAGE_MAX = 100_000


def _field(name: str, **kwargs):
    """The project's form field for a column of ReferenceRange (label and type from it)."""
    return edc.formfield(ReferenceRange._meta.get_field(name), **kwargs)


class RangeFilterForm(edc.Form):
    """The list's filters; a value the page cannot use is a 400 naming the filter."""

    site = forms.ModelChoiceField(label=_("Site"), queryset=None, required=False)
    analyte = forms.ChoiceField(
        label=_("Analyte"), choices=[("", _("All analytes")), *ANALYTE_CHOICES], required=False
    )
    page = edc.IntegerField(required=False, min_value=1, max_value=PAGE_MAX)

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.fields["site"].empty_label = _("All my sites")
        self.fields["site"].error_messages["invalid_choice"] = _(
            "Choose one of the sites offered; that site is unknown or not yours."
        )


class _Helper:
    def _helper(self):
        self.helper = FormHelper()
        self.helper.form_tag = False


REASON_HELP = _("Required: recorded in the audit trail with your name and the time.")


def _reason():
    return forms.CharField(
        label=_("Reason for change"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=REASON_HELP,
    )


class RangeCreateForm(_Helper, edc.Form):
    site = forms.ModelChoiceField(label=_("Site"), queryset=None)
    analyte = _field("analyte")
    sex = _field("sex")
    unit = _field("unit")
    lln = _field("lln")
    uln = _field("uln")
    valid_from = _field("valid_from", widget=DATE)
    valid_to = _field("valid_to", widget=DATE)
    reason = _reason()

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        self.fields["sex"].choices = [("", _("Both sexes")), *self.fields["sex"].choices[1:]]
        self._helper()


class RangeCorrectionForm(_Helper, edc.Form):
    version = edc.VersionField()
    sex = _field("sex")
    unit = _field("unit")
    lln = _field("lln")
    uln = _field("uln")
    valid_from = _field("valid_from", widget=DATE)
    valid_to = _field("valid_to", widget=DATE)
    reason = _reason()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sex"].choices = [("", _("Both sexes")), *self.fields["sex"].choices[1:]]
        self._helper()


class RangeSupersedeForm(_Helper, edc.Form):
    version = edc.VersionField()
    valid_from = _field(
        "valid_from",
        widget=DATE,
        help_text=_("The first day of the new range; the current one ends the day before."),
    )
    unit = _field("unit")
    lln = _field("lln")
    uln = _field("uln")
    reason = _reason()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._helper()
