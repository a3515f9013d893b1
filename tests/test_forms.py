"""The project's form fields (alter_s006/forms.py) and every form of every page using them.

Issue 10.8: Django's number fields take "١٢" (Arabic-Indic 12), "1e999" and "inf"; its date
fields take 0001-01-01. Issue 10.11: a hidden field's error was rendered nowhere.
"""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
from decimal import Decimal

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS

from alter_s006 import forms as edc
from assessments.forms import BaselineForm, TimepointForm
from assessments.models import Lesion
from dosing.forms import DispensingForm, ReturnForm


def project_forms():
    """Every form class defined in a ``forms.py`` of the project's apps."""
    found = []
    for config in apps.get_app_configs():
        if not config.path.startswith(str(settings.BASE_DIR)) or ".venv" in config.path:
            continue
        try:
            module = importlib.import_module(f"{config.name}.forms")
        except ModuleNotFoundError:
            continue
        for _name, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, forms.BaseForm) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


def dynamic_fields():
    """Fields the forms add when they are built (rows of lesions, a measurement per target)."""
    yield "BaselineForm", BaselineForm().fields
    targets = [Lesion(lesion_id="T1", role="target"), Lesion(lesion_id="T2", role="target")]
    yield "TimepointForm", TimepointForm(targets=targets, has_non_targets=True).fields


NUMBERS = (forms.IntegerField, forms.DecimalField, forms.FloatField)


def test_the_project_has_forms_to_check():
    names = {cls.__name__ for cls in project_forms()}
    assert {"SubjectRegistrationForm", "AdverseEventForm", "ScreeningForm", "LabPanelForm"} <= names


@pytest.mark.parametrize("form_class", project_forms(), ids=lambda cls: cls.__name__)
def test_every_number_and_date_field_of_every_form_is_the_projects(form_class):
    fields = list(form_class.base_fields.items())
    fields += [
        (name, field)
        for form_name, built in dynamic_fields()
        if form_name == form_class.__name__
        for name, field in built.items()
    ]
    for name, field in fields:
        if isinstance(field, NUMBERS):
            assert isinstance(field, edc.PlainNumberMixin), f"{form_class.__name__}.{name}"
        if isinstance(field, forms.DateTimeField):
            assert isinstance(field, edc.DateTimeField), f"{form_class.__name__}.{name}"
        elif isinstance(field, forms.DateField):
            assert isinstance(field, edc.DateField), f"{form_class.__name__}.{name}"
    if any(field.widget.is_hidden for _name, field in fields):
        assert issubclass(form_class, edc.HiddenErrorsMixin), form_class.__name__


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("\u0661\u0662", "non_ascii_digits"),  # Arabic-Indic 12
        ("\u06f1\u06f2", "non_ascii_digits"),  # Persian 12
        ("\uff11\uff12", "non_ascii_digits"),  # full-width 12
        ("1e999", "not_a_plain_number"),
        ("1e3", "not_a_plain_number"),
        ("inf", "not_a_plain_number"),
        ("-Infinity", "not_a_plain_number"),
        ("NaN", "not_a_plain_number"),
        ("1_000", "not_a_plain_number"),
        ("abc", "invalid"),  # no number at all: the field's own "Enter a number."
    ],
)
@pytest.mark.parametrize("field_class", [edc.IntegerField, edc.DecimalField, edc.FloatField])
def test_a_number_not_typed_with_digits_0_to_9_is_refused_with_a_code(field_class, typed, code):
    with pytest.raises(forms.ValidationError) as caught:
        field_class().clean(typed)
    assert [e.code for e in caught.value.error_list] == [code]


@pytest.mark.parametrize(
    ("field", "typed", "value"),
    [
        (edc.IntegerField(), " 12 ", 12),
        (edc.IntegerField(), "-3", -3),
        (edc.DecimalField(), "0.8", Decimal("0.8")),
        (edc.DecimalField(), ".5", Decimal("0.5")),
        (edc.FloatField(), "12.", 12.0),
        (edc.IntegerField(required=False), "", None),
    ],
)
def test_plain_numbers_are_read_as_before(field, typed, value):
    assert field.clean(typed) == value


@pytest.mark.parametrize(
    ("typed", "valid"),
    [
        ("0001-01-01", False),
        ("1899-12-31", False),
        ("1900-01-01", True),
        ("2100-12-31", True),
        ("2101-01-01", False),
        ("9999-12-31", False),
    ],
)
def test_dates_outside_the_plausible_bounds_are_refused(typed, valid):
    field = edc.DateField()
    if valid:
        assert field.clean(typed) == dt.date.fromisoformat(typed)
        return
    with pytest.raises(forms.ValidationError) as caught:
        field.clean(typed)
    assert [e.code for e in caught.value.error_list] == ["date_implausible"]
    assert caught.value.messages == ["Enter a date between 1900-01-01 and 2100-12-31."]


def test_a_date_time_outside_the_bounds_is_refused():
    with pytest.raises(forms.ValidationError) as caught:
        edc.DateTimeField().clean("0001-01-01T08:00")
    assert [e.code for e in caught.value.error_list] == ["date_implausible"]


def test_model_forms_get_the_projects_fields_and_keep_choice_lists():
    form = DispensingForm()
    assert isinstance(form.fields["capsules"], edc.IntegerField)
    assert isinstance(form.fields["dispensed_on"], edc.DateField)
    assert isinstance(form.fields["strength_mg"], forms.TypedChoiceField)  # 12, 10 or 8 mg


def test_arabic_indic_digits_on_a_page_form_are_an_error_beside_the_field():
    form = ReturnForm({"version": "1", "returned_on": "2026-03-01", "returned": "\u0661\u0660"})
    assert not form.is_valid()
    assert [e.code for e in form.errors.as_data()["returned"]] == ["non_ascii_digits"]


@pytest.mark.parametrize(
    ("version", "code"),
    [(None, "version_missing"), ("", "version_missing"), ("x", "version_invalid")],
)
def test_a_hidden_version_error_is_shown_on_top_of_the_form(version, code):
    data = {"returned_on": "2026-03-01", "returned": "10"}
    if version is not None:
        data["version"] = version
    form = ReturnForm(data)
    assert not form.is_valid()
    assert "version" not in form.errors
    assert [e.code for e in form.errors.as_data()[NON_FIELD_ERRORS]] == [code]


@pytest.mark.parametrize("form_class", project_forms(), ids=lambda cls: cls.__name__)
def test_every_visible_number_field_is_typed_as_text_so_the_server_sees_what_was_typed(
    form_class,
):
    """Issue 11 C.3: ``type="number"`` sent "21O" as empty and "2e" as nothing."""
    fields = list(form_class.base_fields.items())
    fields += [
        (name, field)
        for form_name, built in dynamic_fields()
        if form_name == form_class.__name__
        for name, field in built.items()
    ]
    for name, field in fields:
        if isinstance(field, NUMBERS) and not field.widget.is_hidden:
            html = field.widget.render(name, None, attrs=field.widget_attrs(field.widget))
            assert 'type="text"' in html, f"{form_class.__name__}.{name}: {html}"
            assert 'inputmode="' in html, f"{form_class.__name__}.{name}: {html}"
            assert 'step="' not in html and 'min="' not in html, html


@pytest.mark.parametrize(
    ("typed", "code"), [("21O", "invalid"), ("2e", "invalid"), ("1,5", "invalid")]
)
@pytest.mark.parametrize("field_class", [edc.IntegerField, edc.DecimalField])
def test_a_typing_slip_reaches_the_field_and_is_refused(field_class, typed, code):
    with pytest.raises(forms.ValidationError) as caught:
        field_class().clean(typed)
    assert [e.code for e in caught.value.error_list] == [code]


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (Decimal("3.100"), "3.1"),
        (Decimal("120.000"), "120"),
        (Decimal("0.800"), "0.8"),
        (Decimal("100"), "100"),
        (Decimal("0.000"), "0"),
        (Decimal("1E+3"), "1000"),
    ],
)
def test_a_stored_decimal_is_shown_without_trailing_zeros(stored, shown):
    """Issue 11 C10: the screening form showed Hb "120.000" and ANC "3.100"."""

    class Lab(edc.Form):
        value = edc.DecimalField(max_digits=8, decimal_places=3)

    html = str(Lab(initial={"value": stored})["value"])
    assert f'value="{shown}"' in html
    assert str(Lab({"value": "3.10"})["value"]).count('value="3.10"') == 1  # as typed
