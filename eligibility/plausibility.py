"""Edit checks on entry: values no living screened patient can have are typing errors.

Not eligibility rules (those are in ``rules.py``): these limits only stop impossible
values at the field (e.g. Hb 0 or 900 g/L, QTc 50 ms) before anything is stored. Limits
are in each analyte's canonical unit (``units.CANONICAL``) and deliberately wide.
"""

from __future__ import annotations

from decimal import Decimal

D = Decimal
PLAUSIBLE: dict[str, tuple[Decimal, Decimal]] = {
    "hb": (D(20), D(250)),  # g/L
    "anc": (D(0), D(100)),  # 10^9/L
    "plt": (D(1), D(3000)),  # 10^9/L
    "creatinine": (D(10), D(3000)),  # umol/L
    "creatinine_clearance": (D(1), D(300)),  # mL/min
    "bun": (D("0.3"), D(150)),  # mmol/L
    "bilirubin": (D(1), D(1000)),  # umol/L
    "ast": (D(1), D(20000)),  # U/L
    "alt": (D(1), D(20000)),  # U/L
    "albumin": (D(5), D(70)),  # g/L
    "glucose": (D(1), D(60)),  # mmol/L
}


def implausible(analyte: str, canonical_value: Decimal) -> tuple[Decimal, Decimal] | None:
    """Return the plausible (low, high) when the value lies outside it, else None."""
    low, high = PLAUSIBLE[analyte]
    if canonical_value < low or canonical_value > high:
        return low, high
    return None
