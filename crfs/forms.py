"""The page form of every visit CRF, built from its registry entry (``crfs.registry``): the
model's fields, parsed only (``ParseOnly``: every check runs in ``crfs.services``, once, with
codes), the unit beside each measurement, and on a correction the version and a reason."""

from __future__ import annotations

from django import forms
from django.forms import modelform_factory
from django.utils.translation import gettext_lazy as _

from alter_s006 import forms as edc
from alter_s006.templatetags.edc_format import format_unit
from crfs.registry import FormSpec

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class CrfForm(edc.ParseOnly, edc.ModelForm):
    version = edc.VersionField(required=False)
    reason = forms.CharField(
        label=_("Reason for change"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Required for a correction: recorded in the audit trail with your name."),
    )

    def values(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in self.spec.fields}


def form_class(spec: FormSpec):
    widgets = {"assessed_on": DATE}
    if "findings" in spec.fields and spec.key == "physical_exam":
        widgets["findings"] = forms.Textarea(attrs={"rows": 3})
    if "comment" in spec.fields:
        widgets["comment"] = forms.Textarea(attrs={"rows": 2})
    return modelform_factory(spec.model, form=CrfForm, fields=spec.fields, widgets=widgets)


WIDE = ("findings", "comment", "not_done_reason", "reason")  # a whole row on the page


def build(spec: FormSpec, *, data=None, record=None, correcting: bool, initial=None, visit=None):
    form = form_class(spec)(data, instance=record, initial=initial or {})
    form.spec = spec
    if spec.key == "vital_signs" and visit is not None and visit.kind != "screening":
        del form.fields["height"]  # measured once, at screening: BSA uses that height
    for name, unit in spec.units.items():
        if name not in form.fields:
            continue
        form.fields[name].label = f"{form.fields[name].label} ({format_unit(unit)})"
        form.fields[name].widget.attrs.setdefault("inputmode", "decimal")
    for name in form.fields.keys() & set(spec.fields):
        form.fields[name].required = False  # the service says what is required, with codes
    if "assessed_on" in form.fields:
        form.fields["assessed_on"].widget.attrs["required"] = True
    if not correcting:
        del form.fields["version"], form.fields["reason"]
    elif record is not None and not data:
        form.initial["version"] = record.version
    return form
