from django import forms
from django.utils.translation import gettext_lazy as _

from queries.services import TEXT_LIMIT


class RaiseForm(forms.Form):
    field = forms.ChoiceField(label=_("Field"))
    text = forms.CharField(
        label=_("Query"), widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    suggested_value = forms.CharField(label=_("Suggested value"), required=False, max_length=500)

    def __init__(self, *args, fields=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", "---------"), *fields]
        self.fields["text"].max_length = TEXT_LIMIT


class ActionForm(forms.Form):
    text = forms.CharField(
        label=_("Text"),
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text=_("Required to answer, send back, reopen, cancel or close as confirmed."),
    )
