"""Edit checks on entry: values no living screened patient can have are typing errors.

Not eligibility rules (those are in ``rules.py``): these limits only stop impossible
values at the field (e.g. Hb 0 or 900 g/L, QTc 50 ms) before anything is stored. Limits
are in each analyte's canonical unit (``units.CANONICAL``; QTc in ms) and deliberately wide:
about ten times beyond the extremes reported in living adults, so that only a slipped digit
or a wrong unit is stopped (a real extreme value is entered and graded, never refused).

One table for every form with lab values: the screening form and the on-treatment lab panel
(``safety.plausibility`` converts the panel's other units to these).
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
    "qtc": (D(250), D(700)),  # ms
    # analytes of the on-treatment lab panel only
    "wbc": (D(0), D(500)),  # 10^9/L
    "triglycerides": (D("0.1"), D(150)),  # mmol/L
    "cholesterol": (D("0.5"), D(50)),  # mmol/L
    "urine_protein_24h": (D(0), D(50)),  # g/24 h
    "tsh": (D(0), D(1000)),  # mIU/L
    "ft4": (D("0.5"), D(300)),  # pmol/L
    # vital signs and ECG (the screening form, and the visit CRFs of issue 13): a reading a
    # living adult cannot give, or a slipped digit; a real extreme is entered and graded
    "systolic": (D(50), D(300)),  # mm Hg
    "diastolic": (D(20), D(200)),  # mm Hg
    "heart_rate": (D(20), D(250)),  # beats per minute
    "temperature": (D(30), D(45)),  # degrees C
    "weight": (D(20), D(300)),  # kg
    "height": (D(100), D(230)),  # cm
    "qt": (D(200), D(700)),  # ms
    "rr": (D(240), D(3000)),  # ms (a heart rate of 250 to 20 beats per minute)
    "lvef": (D(5), D(90)),  # %
}


def implausible(analyte: str, canonical_value: Decimal) -> tuple[Decimal, Decimal] | None:
    """Return the plausible (low, high) when the value lies outside it, else None."""
    low, high = PLAUSIBLE[analyte]
    if canonical_value < low or canonical_value > high:
        return low, high
    return None
