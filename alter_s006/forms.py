"""Form fields every page uses: numbers typed with the digits 0-9, dates within plausible
bounds, and the hidden version of the optimistic lock refused with a message the user sees.

Django's own number fields take any Unicode digit ("١٢" is 12), exponents and, for floats,
"inf"; its date fields take year 1 to 9999. ``formfield`` maps model fields to the fields
below, and ``ModelForm`` uses it for every model form of the project (tests/test_forms.py
walks every form and fails on a number or date field that is not one of these).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.forms.models import ModelFormMetaclass
from django.utils.translation import gettext_lazy as _

from alter_s006 import protocol as P

# Digits 0-9 with an optional sign and decimal point: what a person types from a report.
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)


def check_plain_number(text: str) -> None:
    """Refuse a number Python reads but a person does not write: other digits than 0-9
    (Arabic-Indic, full-width), an exponent (1e999), infinity, NaN. Text that is no number at
    all is left to the field's own "Enter a number."."""
    text = text.strip()
    if PLAIN_NUMBER.fullmatch(text):
        return
    if any(ch.isdigit() and not ch.isascii() for ch in text):
        raise ValidationError(
            _("Type the number with the digits 0-9 (e.g. 12 or 0.8)."), code="non_ascii_digits"
        )
    try:
        Decimal(text)
    except InvalidOperation:
        return
    raise ValidationError(
        _("Enter a plain number such as 12 or 0.8 (digits 0-9 and a decimal point)."),
        code="not_a_plain_number",
    )


class NumberTextInput(forms.TextInput):
    """A number typed as text (``inputmode`` brings up the number keyboard).

    ``<input type="number">`` lets the browser rewrite what was typed before the server
    sees it ("21O" is sent as empty, "2e" as nothing at all), so a typing slip became a
    silent blank. As text, what was typed arrives and is refused beside the field.
    """

    NUMBER_ONLY_ATTRS = ("min", "max", "step")

    def __init__(self, attrs=None):
        attrs = {k: v for k, v in (attrs or {}).items() if k not in self.NUMBER_ONLY_ATTRS}
        super().__init__(attrs)

    def format_value(self, value):
        """A stored Decimal as its significant digits: 3.100 is shown "3.1", 120.000 "120"
        (issue 11 C10: the column's scale is storage, not what was measured). What the user
        typed (a string) is shown as typed."""
        if isinstance(value, Decimal) and value.is_finite():
            return format(value.normalize(), "f")
        return super().format_value(value)


class PlainNumberMixin:
    """A number field that takes only plain ASCII decimal notation, typed as text."""

    widget = NumberTextInput
    inputmode = "decimal"

    def __init__(self, *args, **kwargs):
        widget = kwargs.get("widget")
        if isinstance(widget, forms.NumberInput) or widget is forms.NumberInput:
            attrs = getattr(widget, "attrs", {})
            kwargs["widget"] = NumberTextInput(attrs)
        super().__init__(*args, **kwargs)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        for name in NumberTextInput.NUMBER_ONLY_ATTRS:
            attrs.pop(name, None)
        if not widget.is_hidden:
            attrs.setdefault("inputmode", self.inputmode)
            attrs.setdefault("autocomplete", "off")
        return attrs

    def to_python(self, value):
        if isinstance(value, str) and value.strip():
            check_plain_number(value)
        return super().to_python(value)


class IntegerField(PlainNumberMixin, forms.IntegerField):
    inputmode = "numeric"


class DecimalField(PlainNumberMixin, forms.DecimalField):
    pass


class FloatField(PlainNumberMixin, forms.FloatField):
    pass


def check_plausible_date(value: dt.date) -> None:
    """Refuse a date outside ``protocol.EARLIEST/LATEST_PLAUSIBLE_DATE``."""
    if not P.EARLIEST_PLAUSIBLE_DATE <= value <= P.LATEST_PLAUSIBLE_DATE:
        raise ValidationError(
            _("Enter a date between %(first)s and %(last)s."),
            code="date_implausible",
            params={
                "first": P.EARLIEST_PLAUSIBLE_DATE.isoformat(),
                "last": P.LATEST_PLAUSIBLE_DATE.isoformat(),
            },
        )


class DateField(forms.DateField):
    def validate(self, value):
        super().validate(value)
        if value is not None:
            check_plausible_date(value)


class DateTimeField(forms.DateTimeField):
    def validate(self, value):
        super().validate(value)
        if value is not None:
            check_plausible_date(value.date())


class VersionField(IntegerField):
    """The version a record had when the form was opened (hidden): a page sent without it, or
    with a garbled one, is refused with a message saying so (never a silent re-render)."""

    widget = forms.HiddenInput

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 0)
        super().__init__(**kwargs)

    def clean(self, value):
        try:
            return super().clean(value)
        except ValidationError as exc:
            if value in self.empty_values:
                raise ValidationError(
                    _(
                        "This form was sent without the version of the record it was opened "
                        "at, so it cannot tell whether someone changed the record since: "
                        "nothing was saved. Reload the page and make your change again."
                    ),
                    code="version_missing",
                ) from exc
            raise ValidationError(
                _(
                    "This form was sent with a version of the record that is not a version "
                    "number: nothing was saved. Reload the page and make your change again."
                ),
                code="version_invalid",
            ) from exc


class HiddenErrorsMixin:
    """Errors of hidden fields are shown at the top of the form: a hidden field has no place
    beside which a message could be seen."""

    def full_clean(self):
        super().full_clean()
        errors = getattr(self, "_errors", None)
        if not errors:
            return
        for name in list(errors):
            field = self.fields.get(name)
            if name != NON_FIELD_ERRORS and field is not None and field.widget.is_hidden:
                moved = errors.pop(name).as_data()
                self.cleaned_data.pop(name, None)
                errors.setdefault(NON_FIELD_ERRORS, self.error_class(error_class="nonfield"))
                errors[NON_FIELD_ERRORS].extend(moved)


FIELD_CLASSES = {
    models.DateTimeField: DateTimeField,
    models.DateField: DateField,
    models.DecimalField: DecimalField,
    models.FloatField: FloatField,
    models.IntegerField: IntegerField,  # also Small, Big and Positive integer fields
}


def formfield(db_field, **kwargs):
    """The project's form field for a model field (a choice list stays a choice list)."""
    for model_class, form_class in FIELD_CLASSES.items():
        if isinstance(db_field, model_class):
            kwargs.setdefault("form_class", form_class)
            break
    return db_field.formfield(**kwargs)


class _ModelFormMetaclass(ModelFormMetaclass):
    def __new__(mcs, name, bases, attrs):
        meta = attrs.get("Meta")
        if meta is not None and not hasattr(meta, "formfield_callback"):
            meta.formfield_callback = staticmethod(formfield)
        return super().__new__(mcs, name, bases, attrs)


class ParseOnly:
    """A model form that only parses: the browser's strings become dates, Decimals, bools
    and choices; every check of the values (the model's own with ``full_clean``, and the
    clinical ones) runs in the CRF's service, once, with codes — the API's path too
    (issue 11 A1). Put it before ``ModelForm`` in the bases."""

    def _post_clean(self):
        pass


class Form(HiddenErrorsMixin, forms.Form):
    pass


class ModelForm(HiddenErrorsMixin, forms.ModelForm, metaclass=_ModelFormMetaclass):
    def _post_clean(self):
        # A field the form refused is empty on the instance: the model's checks would add
        # "enter the date of birth" under "enter a valid date". Keep the form's own message.
        refused = {name: len(errors) for name, errors in self._errors.items()}
        super()._post_clean()
        for name, count in refused.items():
            if name != NON_FIELD_ERRORS:
                del self._errors[name][count:]
