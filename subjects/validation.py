"""Edit checks of the subject CRFs: one path for the pages and the API (issue 11 A1).

Each function reads typed Python values (dates, ints, bools, text) in a plain dict, as the page
form or the API schema typed them, and raises one field-keyed ``ValidationError`` whose every
error has a ``code``. The services call them (the demographics through ``Subject.clean``, so
``full_clean`` in the service runs them beside the model's own field checks):

Demographics (registration, correction):

* ``future_date``: a date of birth or of consent after the site's today;
* ``consent_before_birth``: consent dated before the date of birth;
* ``birth_date_required``: neither a date nor a year of birth;
* ``year_mismatch``: a year of birth that is not the year of the date of birth;
* ``birth_year_after_consent``: a year of birth after the year of consent;
* ``date_implausible``: a birth or consent date before
  ``alter_s006.protocol.EARLIEST_PLAUSIBLE_DATE``;
* ``age_implausible``: an age at consent outside ``PLAUSIBLE_AGE_AT_CONSENT_YEARS`` (a typing
  error, not an ineligible subject: I02 judges a plausible age).

Visit (record or correct):

* ``future_date``: a visit date after the site's today;
* ``missed_with_date``: a visit both dated and marked missed;
* ``date_or_missed_required``: neither.

Status change (beside ``subjects.lifecycle``'s own codes):

* ``c1d1_required`` / ``c1d1_before_enrolment``: enrolment plans the visits from C1D1;
* ``last_dose_required`` / ``last_dose_after_decision`` / ``before_c1d1``: stopping treatment
  dates the last dose (end of treatment, safety follow-up, AE window follow from it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alter_s006 import protocol as P
from eligibility.rules import age_on

# Shown when a registration names a site that is unknown or not one of the user's (the page
# form's site menu and the API's site code say the same).
UNKNOWN_SITE = gettext_lazy("Choose one of your sites; that site is unknown or not yours.")


def _error(message, code: str, params: dict | None = None) -> ValidationError:
    return ValidationError(message, code=code, params=params)


def validate_demographics(values: Mapping, *, today: dt.date) -> None:
    """Raise a field-keyed ``ValidationError`` (codes in the module docstring).

    ``values`` holds ``date_of_birth``, ``year_of_birth`` and ``consent_date`` (absent or None
    when not entered); ``today`` is the site's today. One error per field: the last check of a
    field wins, as the CRF has always shown it.
    """
    born = values.get("date_of_birth")
    year = values.get("year_of_birth")
    consent = values.get("consent_date")
    errors: dict[str, ValidationError] = {}
    if born and born > today:
        errors["date_of_birth"] = _error(
            _("The date of birth cannot be in the future."), "future_date"
        )
    if consent and consent > today:
        errors["consent_date"] = _error(
            _("The consent date cannot be in the future."), "future_date"
        )
    if born and consent and consent < born:
        errors["consent_date"] = _error(
            _("Consent cannot be before the date of birth."), "consent_before_birth"
        )
    if not born and not year:
        errors["date_of_birth"] = _error(
            _("Enter the date of birth, or at least the year."), "birth_date_required"
        )
    if born and year and year != born.year:
        errors["year_of_birth"] = _error(
            _("The year does not match the date of birth."), "year_mismatch"
        )
    if year and consent and year > consent.year:
        errors["year_of_birth"] = _error(
            _("The year of birth is after the consent date."), "birth_year_after_consent"
        )
    for name, error in _implausible(born, year, consent).items():
        errors.setdefault(name, error)
    if errors:
        raise ValidationError(errors)


def _implausible(born, year, consent) -> dict[str, ValidationError]:
    """A birth or consent date no subject can have: a typing error (0001-01-01 would be
    "age 2025"), not an ineligible subject (I02 judges the age of a plausible one)."""
    errors = {}
    first = P.EARLIEST_PLAUSIBLE_DATE
    for name, value in (("date_of_birth", born), ("consent_date", consent)):
        if isinstance(value, dt.date) and value < first:
            errors[name] = _error(
                _("This date cannot be before %(d)s."),
                "date_implausible",
                {"d": first.isoformat()},
            )
    if errors or not isinstance(consent, dt.date):
        return errors
    low, high = P.PLAUSIBLE_AGE_AT_CONSENT_YEARS
    if isinstance(born, dt.date):
        age, field = age_on(born, consent), "date_of_birth"  # the eligibility rules' own age
    elif isinstance(year, int):
        born, field = year, "year_of_birth"
        age = consent.year - year
    else:
        return errors
    if age >= 0 and not low <= age <= high:  # a birth after consent has its own message
        errors[field] = _error(
            _(
                "Born %(born)s, the subject would be %(age)s years old at consent (%(consent)s): "
                "check the date. An age from %(low)s to %(high)s can be entered."
            ),
            "age_implausible",
            {"born": born, "age": age, "consent": consent, "low": low, "high": high},
        )
    return errors


def validate_visit(values: Mapping, *, today: dt.date) -> None:
    """Raise a field-keyed ``ValidationError`` unless the visit is dated or missed, not both,
    and not dated after ``today`` (the site's today)."""
    actual = values.get("actual_date")
    missed = bool(values.get("missed"))
    if actual and actual > today:
        raise ValidationError(
            {"actual_date": _error(_("The visit date cannot be in the future."), "future_date")}
        )
    if missed and actual:
        raise ValidationError(
            {"missed": _error(_("A visit with a date cannot be missed."), "missed_with_date")}
        )
    if not missed and not actual:
        raise ValidationError(
            {
                "actual_date": _error(
                    _("Enter the date, or mark the visit missed."), "date_or_missed_required"
                )
            }
        )


def validate_enrolment(values: Mapping) -> None:
    """Enrolment (``on_date``) plans the visits from ``c1d1``: required, not before it."""
    on_date, c1d1 = values.get("on_date"), values.get("c1d1")
    if c1d1 is None:
        raise ValidationError(
            {"c1d1": _error(_("Enter the planned cycle 1 day 1."), "c1d1_required")}
        )
    if on_date is not None and c1d1 < on_date:
        raise ValidationError(
            {
                "c1d1": _error(
                    _("Cycle 1 day 1 cannot be before enrolment."), "c1d1_before_enrolment"
                )
            }
        )


def validate_stop(values: Mapping, *, c1d1_date: dt.date | None) -> None:
    """Stopping treatment (``on_date``) dates the ``last_dose``: required, not after the
    decision, not before the subject's C1D1."""
    on_date, last_dose = values.get("on_date"), values.get("last_dose")
    if last_dose is None:
        raise ValidationError(
            {"last_dose": _error(_("Enter the date of the last dose."), "last_dose_required")}
        )
    if on_date is not None and last_dose > on_date:
        raise ValidationError(
            {
                "last_dose": _error(
                    _("The last dose cannot be after the decision to stop."),
                    "last_dose_after_decision",
                )
            }
        )
    if c1d1_date and last_dose < c1d1_date:
        raise ValidationError(
            {"last_dose": _error(_("The last dose cannot be before C1D1."), "before_c1d1")}
        )
