from django import forms
from django.utils.translation import gettext_lazy as _

from alter_s006 import forms as edc
from exports.models import ExportJob


class StartForm(edc.Form):
    kind = forms.ChoiceField(label=_("Export"), choices=ExportJob.Kind.choices)
    site = forms.TypedChoiceField(
        label=_("Site"), coerce=int, required=False, empty_value=None, choices=()
    )

    def __init__(self, *args, sites=(), whole_study=False, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(s.pk, str(s)) for s in sites]
        if whole_study:
            choices.insert(0, ("", _("Whole study (every site)")))
        self.fields["site"].choices = choices
        self.fields["site"].required = not whole_study
