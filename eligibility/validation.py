"""Edit checks of the screening CRF: one path for the page and the API (issue 11 A1).

:func:`validate_screening` reads typed Python values (dates, Decimals, bools, ints, text) in a
plain dict, as the page form or the API schema typed them, and raises one field-keyed
``ValidationError`` carrying every refusal, each with a ``code``:

* ``future_date``: a date of something that has happened (first procedure, labs, therapies,
  echo, pregnancy test) after the site's today;
* ``date_range``: a date outside the plausible dates of the trial
  (``alter_s006.protocol.EARLIEST_PLAUSIBLE_DATE`` .. ``LATEST_PLAUSIBLE_DATE``);
* ``before_birth``: a date before the subject was born (date of birth, or 1 January of the
  year of birth when only the year is known);
* ``c1d1_before_screening``: a planned C1D1 before the first screening procedure;
* ``unit_required``: a lab value typed without its unit;
* ``unit_not_for_analyte``: a unit the analyte does not take (``eligibility.units``);
* ``implausible_value``: a lab value no living screened patient can have
  (``eligibility.plausibility``), after conversion to the canonical unit;
* ``version_required`` / ``required`` (reason): a correction of a saved screening names the
  version read and gives a reason for change.

Eligibility itself is not checked here: a value inside the plausible range but outside the
protocol's limits is a real, ineligible subject, for ``eligibility.rules`` to say so.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from alter_s006 import protocol as P
from eligibility import plausibility, units

# (value field, unit field or None, analyte key of eligibility.units)
LAB_FIELDS = (
    ("hb_value", "hb_unit", "hb"),
    ("anc_value", None, "anc"),
    ("plt_value", None, "plt"),
    ("creatinine_value", "creatinine_unit", "creatinine"),
    ("creatinine_clearance_value", None, "creatinine_clearance"),
    ("bun_value", "bun_unit", "bun"),
    ("bilirubin_value", "bilirubin_unit", "bilirubin"),
    ("ast_value", None, "ast"),
    ("alt_value", None, "alt"),
    ("albumin_value", "albumin_unit", "albumin"),
    ("fasting_glucose_value", "fasting_glucose_unit", "glucose"),
)
# Dates of what has already happened: never after the site's today.
PAST_DATES = (
    "first_procedure_date",
    "brain_metastases_controlled_since",
    "last_systemic_therapy_date",
    "radiotherapy_date",
    "surgery_date",
    "other_trial_date",
    "lab_date",
    "echo_date",
    "pregnancy_test_date",
)
DATES = (*PAST_DATES, "planned_c1d1")


def unit_label(unit: str) -> str:
    """A unit as people write it: "umol/L" -> "µmol/L", "10^9/L" -> "10⁹/L"."""
    return unit.replace("umol", "µmol").replace("10^9", "10⁹")


class _Errors:
    def __init__(self):
        self.by_field: dict[str, list[ValidationError]] = {}

    def add(self, field: str, message: str, code: str) -> None:
        self.by_field.setdefault(field, []).append(ValidationError(message, code=code))

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def validate_screening(
    values: Mapping,
    *,
    today: dt.date,
    correction: bool = False,
    expected_version: int | None = None,
    reason: str = "",
    born: dt.date | None = None,
) -> None:
    """Raise a field-keyed ``ValidationError`` (codes above) when ``values`` cannot be saved.

    ``values`` holds the screening's fields as typed Python values (a field absent or None is
    not entered); ``today`` is the site's today; ``correction`` says the screening was saved
    before (then ``expected_version`` and ``reason`` are required); ``born`` is the subject's
    earliest possible birthday, when known.
    """
    errors = _Errors()
    for name in DATES:
        _check_date(errors, name, values.get(name), today, born)
    first, c1d1 = values.get("first_procedure_date"), values.get("planned_c1d1")
    if first and c1d1 and c1d1 < first and "planned_c1d1" not in errors.by_field:
        errors.add(
            "planned_c1d1",
            _("Cycle 1 day 1 cannot be before the first screening procedure (%(d)s).")
            % {"d": first},
            "c1d1_before_screening",
        )
    for value_field, unit_field, analyte in LAB_FIELDS:
        _check_lab(errors, values, value_field, unit_field, analyte)
    if correction:
        if expected_version is None:
            errors.add(
                "version",
                _("The screening was saved before: send the version you read."),
                "version_required",
            )
        if not (reason or "").strip():
            errors.add("reason", _("A reason for change is required."), "required")
    errors.raise_if_any()


def _check_date(errors: _Errors, name: str, value, today: dt.date, born) -> None:
    if value is None:
        return
    if not P.EARLIEST_PLAUSIBLE_DATE <= value <= P.LATEST_PLAUSIBLE_DATE:
        errors.add(
            name,
            _("Enter a date between %(lo)s and %(hi)s.")
            % {"lo": P.EARLIEST_PLAUSIBLE_DATE, "hi": P.LATEST_PLAUSIBLE_DATE},
            "date_range",
        )
    elif name in PAST_DATES and value > today:
        errors.add(
            name, _("This date cannot be after today (%(d)s).") % {"d": today}, "future_date"
        )
    elif born is not None and value < born:
        errors.add(
            name,
            _("This date is before the subject was born (%(d)s).") % {"d": born},
            "before_birth",
        )


def _check_lab(errors: _Errors, values: Mapping, value_field, unit_field, analyte) -> None:
    value = values.get(value_field)
    if value is None:
        return
    value = Decimal(value)
    unit = (values.get(unit_field) or "") if unit_field else units.CANONICAL[analyte]
    if not unit:
        errors.add(unit_field, _("Choose the unit of this value."), "unit_required")
        return
    if units.normalise_unit(unit) not in units.UNITS[analyte]:
        errors.add(
            unit_field or value_field,
            _("%(u)s is not a unit of this analyte; use %(a)s.")
            % {"u": unit, "a": ", ".join(unit_label(u) for u in units.UNITS[analyte])},
            "unit_not_for_analyte",
        )
        return
    canonical = units.convert(value, unit, units.CANONICAL[analyte], analyte=analyte)
    limits = plausibility.implausible(analyte, canonical)
    if limits:
        errors.add(
            value_field,
            _(
                "%(v)s %(u)s is not a possible value (expected %(lo)s–%(hi)s %(cu)s); "
                "check the report."
            )
            % {
                "v": value,
                "u": unit_label(unit),
                "lo": limits[0],
                "hi": limits[1],
                "cu": unit_label(units.CANONICAL[analyte]),
            },
            "implausible_value",
        )
