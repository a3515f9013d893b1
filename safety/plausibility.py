"""Values no patient can have, refused at the lab panel as at screening: one table.

The limits are ``eligibility.plausibility.PLAUSIBLE`` (the screening form's table, in each
analyte's canonical unit of ``eligibility.units``); this module only brings a value the panel
offers in another unit to that canonical unit. Units the screening form does not offer:

* counts in ``/mm3``: 1 /mm3 = 10^6 /L = 0.001 x 10^9/L (exact);
* haemoglobin in ``mmol/L`` (Hb monomer, molar mass 16 114.5 g/mol; CTCAE v4.03 Anemia writes
  100 g/L = 6.2 mmol/L): g/L = mmol/L x 16.1145.

Every analyte of the panel has a limit there (blood pressure is not a lab value); QTc has no
unit conversion (ms only).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from eligibility import units
from eligibility.plausibility import PLAUSIBLE

_PANEL_FACTORS: dict[tuple[str, str], Decimal] = {
    ("anc", "/mm3"): Decimal("0.001"),
    ("plt", "/mm3"): Decimal("0.001"),
    ("wbc", "/mm3"): Decimal("0.001"),
    ("hb", "mmol/L"): Decimal("16.1145"),
}


@dataclass(frozen=True)
class Implausible:
    """The plausible range in the analyte's canonical unit, and the value converted to it."""

    low: Decimal
    high: Decimal
    unit: str
    canonical_value: Decimal


def canonical(analyte: str, value: Decimal, unit: str) -> Decimal | None:
    """``value`` in the canonical unit of ``analyte``; None when it cannot be converted."""
    factor = _PANEL_FACTORS.get((analyte, unit))
    if factor is not None:
        return value * factor
    if (analyte, unit) == ("qtc", "ms"):
        return value
    try:
        return units.convert(value, unit, units.CANONICAL[analyte], analyte=analyte)
    except (units.UnitError, KeyError):
        return None


def implausible(analyte: str, value: Decimal, unit: str) -> Implausible | None:
    """The limits ``value`` lies outside of, or None (also when the analyte has no limits)."""
    if analyte not in PLAUSIBLE:
        return None
    converted = canonical(analyte, value, unit)
    if converted is None:
        return None
    low, high = PLAUSIBLE[analyte]
    if low <= converted <= high:
        return None
    return Implausible(low, high, units.CANONICAL.get(analyte, unit), converted)
