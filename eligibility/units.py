"""Laboratory units of the eligibility labs and the factors between them.

Source of the rule: ``docs/PROTOCOL.md`` I08 and E09 (c): the limits are written in g/L,
10^9/L, mL/min and mmol/L, and ULNs "come from the reference ranges of the site's own
laboratory", whose units differ from site to site. Values are converted here, never by the
person entering them.

Factors (SI conversion; each mass-to-molar factor is 10 dL/L divided by the molar mass, the
values printed in the usual SI conversion tables, e.g. the AMA Manual of Style SI table):

* haemoglobin and albumin: 1 g/dL = 10 g/L (1 L = 10 dL, definition);
* creatinine: 1 mg/dL = 88.4 umol/L (molar mass 113.12 g/mol: 10 000 / 113.12 = 88.4);
* total bilirubin: 1 mg/dL = 17.1 umol/L (molar mass 584.66 g/mol: 10 000 / 584.66 = 17.1);
* BUN (urea *nitrogen*, two N atoms, 28.014 g/mol): 1 mg/dL = 0.357 mmol/L (10 / 28.014);
* glucose (molar mass 180.16 g/mol): mmol/L = mg/dL / 18.016 (about x 0.0555);
* ANC and PLT only in 10^9/L, AST and ALT only in U/L, creatinine clearance only in mL/min:
  other units of these (cells/uL, ukat/L, mL/s) are refused rather than guessed.

Analytes of the on-treatment lab panel only (``PANEL_UNITS``, reference ranges for
``safety``): WBC in 10^9/L, TSH in mIU/L; total cholesterol (386.65 g/mol): mmol/L = mg/dL /
38.67; triglycerides (as triolein, 885.7 g/mol): mmol/L = mg/dL / 88.57; free T4 (776.87
g/mol): 1 ng/dL = 12.87 pmol/L; 24-hour urine protein: 1 g = 1000 mg (definition).

Unit strings are plain ASCII: "umol/L" for micromoles per litre. The micro sign (U+00B5) and
Greek mu (U+03BC) are accepted as spellings of "u". Arithmetic is in :class:`Decimal`:
multiplications are exact; only the glucose division rounds (to 28 significant digits).

Pure Python: no Django import.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = [
    "CANONICAL",
    "LABELS",
    "PANEL_UNITS",
    "RANGE_UNITS",
    "UNITS",
    "UnitError",
    "convert",
    "normalise_unit",
]

UNITS: dict[str, tuple[str, ...]] = {
    "hb": ("g/L", "g/dL"),
    "anc": ("10^9/L",),
    "plt": ("10^9/L",),
    "creatinine": ("umol/L", "mg/dL"),
    "creatinine_clearance": ("mL/min",),
    "bun": ("mmol/L", "mg/dL"),
    "bilirubin": ("umol/L", "mg/dL"),
    "ast": ("U/L",),
    "alt": ("U/L",),
    "albumin": ("g/L", "g/dL"),
    "glucose": ("mmol/L", "mg/dL"),
}
"""Allowed units per analyte; the canonical unit (the one the protocol's limits use) first."""

PANEL_UNITS: dict[str, tuple[str, ...]] = {
    "wbc": ("10^9/L",),
    "triglycerides": ("mmol/L", "mg/dL"),
    "cholesterol": ("mmol/L", "mg/dL"),
    "urine_protein_24h": ("g/24 h", "mg/24 h"),
    "tsh": ("mIU/L",),
    "ft4": ("pmol/L", "ng/dL"),
}
"""Analytes of the on-treatment lab panel (``safety``) that screening does not collect: their
reference ranges are kept with the others, in these units (canonical first)."""

RANGE_UNITS: dict[str, tuple[str, ...]] = {**UNITS, **PANEL_UNITS}
"""Every analyte a site's reference range may be given for."""

CANONICAL: dict[str, str] = {analyte: units[0] for analyte, units in RANGE_UNITS.items()}

LABELS: dict[str, str] = {
    "hb": "Hb",
    "anc": "ANC",
    "plt": "PLT",
    "creatinine": "creatinine",
    "creatinine_clearance": "creatinine clearance",
    "bun": "BUN",
    "bilirubin": "total bilirubin",
    "ast": "AST",
    "alt": "ALT",
    "albumin": "albumin",
    "glucose": "glucose",
    "wbc": "WBC",
    "triglycerides": "triglycerides",
    "cholesterol": "cholesterol",
    "urine_protein_24h": "24-hour urine protein",
    "tsh": "TSH",
    "ft4": "free T4",
}
"""How an analyte is named in messages and reasons."""

# (analyte, unit) -> (multiply, divide) taking a value in ``unit`` to the canonical unit.
# Kept as a pair so that glucose divides by 18.016 instead of multiplying by a rounded inverse.
_TO_CANONICAL: dict[tuple[str, str], tuple[Decimal, Decimal]] = {
    ("hb", "g/dL"): (Decimal("10"), Decimal("1")),
    ("albumin", "g/dL"): (Decimal("10"), Decimal("1")),
    ("creatinine", "mg/dL"): (Decimal("88.4"), Decimal("1")),
    ("bilirubin", "mg/dL"): (Decimal("17.1"), Decimal("1")),
    ("bun", "mg/dL"): (Decimal("0.357"), Decimal("1")),
    ("glucose", "mg/dL"): (Decimal("1"), Decimal("18.016")),
    ("cholesterol", "mg/dL"): (Decimal("1"), Decimal("38.67")),
    ("triglycerides", "mg/dL"): (Decimal("1"), Decimal("88.57")),
    ("urine_protein_24h", "mg/24 h"): (Decimal("1"), Decimal("1000")),
    ("ft4", "ng/dL"): (Decimal("12.87"), Decimal("1")),
}
_IDENTITY = (Decimal("1"), Decimal("1"))


class UnitError(ValueError):
    """A unit that is not allowed for the analyte, or an analyte this module does not know."""


def normalise_unit(unit: str) -> str:
    """Return ``unit`` stripped, with the micro sign and Greek mu written as ASCII "u"."""
    return unit.strip().replace("\u00b5", "u").replace("\u03bc", "u")


def _check(analyte: str, unit: str) -> str:
    """Return the normalised unit, or raise :class:`UnitError` if the analyte does not use it."""
    if analyte not in RANGE_UNITS:
        known = ", ".join(RANGE_UNITS)
        raise UnitError(f"{analyte!r} is not a known analyte; use one of {known}.")
    normalised = normalise_unit(unit)
    allowed = RANGE_UNITS[analyte]
    if normalised not in allowed:
        raise UnitError(f"{unit} is not a unit for {LABELS[analyte]}; use {' or '.join(allowed)}.")
    return normalised


def convert(value: Decimal, from_unit: str, to_unit: str, *, analyte: str) -> Decimal:
    """Convert ``value`` of ``analyte`` from ``from_unit`` to ``to_unit`` (PROTOCOL.md I08).

    Goes through the canonical unit. Raises :class:`UnitError` (a ``ValueError``) if either
    unit is not one of ``UNITS[analyte]``, e.g. "mg/dL is not a unit for ANC; use 10^9/L.".
    """
    source = _check(analyte, from_unit)
    target = _check(analyte, to_unit)
    value = Decimal(value)
    if source == target:
        return value
    mul, div = _TO_CANONICAL.get((analyte, source), _IDENTITY)
    canonical = value * mul / div
    mul, div = _TO_CANONICAL.get((analyte, target), _IDENTITY)
    return canonical * div / mul
