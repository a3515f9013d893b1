"""Values the visit forms derive from what was measured, never typed: BSA and QTcF.

Issue 13, section 2 ("Derived values computed, never typed"). Each formula names its source:

* Body-surface area, Mosteller: BSA (m2) = sqrt(height (cm) x weight (kg) / 3600).
  Mosteller RD. Simplified calculation of body-surface area. N Engl J Med 1987;317(17):1098.
* QT corrected for heart rate, Fridericia: QTcF = QT / RR^(1/3), RR in seconds.
  Fridericia LS. Die Systolendauer im Elektrokardiogramm bei normalen Menschen und bei
  Herzkranken. Acta Med Scand 1920;53:469-486. When the RR interval is not given it is taken
  from the heart rate: RR (s) = 60 / heart rate (beats per minute).

Arithmetic is exact :class:`~decimal.Decimal` (a float is refused: binary rounding would move a
rounding boundary). Rounding is half-up: BSA to 0.01 m2, QTcF to the whole millisecond; a result
lying exactly on a half (BSA 1.825, QTcF 400.5) goes up, and this is decided by exact arithmetic,
not by a cube root that happened to come out a digit short. Inputs must be greater than zero;
physiological plausibility (a height of 20 cm) is the forms' edit check, not this module's.
Pure Python: standard library only, no Django import.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext

__all__ = ["DerivationError", "bsa_mosteller", "needs_24h_protein", "qtcf_ms"]

_PRECISION = 60  # digits: products of a few typed values stay exact, roots are far past 0.01
_CENT = Decimal("0.01")
_HALF = Decimal("0.5")
_SECONDS_PER_MINUTE = Decimal(60)
_MS_PER_SECOND = Decimal(1000)
_MOSTELLER_DIVISOR = Decimal(3600)


class DerivationError(ValueError):
    """An input a derived value cannot be computed from, tied to the field at fault.

    Same shape as :class:`safety.grading.GradingError`: ``field`` (the argument's name, e.g.
    "height_cm", "rr_ms"), ``code`` (machine-readable) and ``message`` (for the person typing).
    """

    def __init__(self, field: str, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message


_LABELS = {
    "height_cm": "The height",
    "weight_kg": "The weight",
    "qt_ms": "The QT interval",
    "rr_ms": "The RR interval",
    "heart_rate_bpm": "The heart rate",
}


def _positive(field: str, value: object) -> Decimal:
    """``value`` as a finite Decimal > 0 (Decimal or int; float, bool and text refused)."""
    label = _LABELS[field]
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise DerivationError(
            field,
            f"{label} must be a decimal number, not a {type(value).__name__}.",
            "not_a_number",
        )
    number = Decimal(value)
    if not number.is_finite():
        raise DerivationError(field, f"{label} must be a number.", "not_a_number")
    if number <= 0:
        raise DerivationError(field, f"{label} must be greater than zero.", "not_positive")
    return number


def bsa_mosteller(height_cm: Decimal, weight_kg: Decimal) -> Decimal:
    """Body-surface area in m2 by Mosteller (N Engl J Med 1987;317:1098), 2 decimals half-up.

    BSA = sqrt(height_cm x weight_kg / 3600) = sqrt(height_cm x weight_kg) / 60. The square root
    of a product of typed decimals is exact whenever the BSA is a terminating decimal (e.g.
    exactly 1.825), so a value on a half rounds up as written.
    """
    height = _positive("height_cm", height_cm)
    weight = _positive("weight_kg", weight_kg)
    with localcontext() as context:
        context.prec = _PRECISION
        bsa = (height * weight / _MOSTELLER_DIVISOR).sqrt()
        return bsa.quantize(_CENT, rounding=ROUND_HALF_UP)


def qtcf_ms(
    qt_ms: Decimal,
    *,
    rr_ms: Decimal | None = None,
    heart_rate_bpm: Decimal | None = None,
) -> int:
    """QT corrected by Fridericia (Acta Med Scand 1920;53:469), whole ms rounded half-up.

    QTcF = QT / RR^(1/3) with RR in seconds: ``rr_ms`` / 1000, or 60 / ``heart_rate_bpm`` when
    the RR interval was not measured. Exactly one of ``rr_ms`` and ``heart_rate_bpm`` is given.

    The cube root is approximated to 60 digits to find a candidate whole number m, then m is
    checked exactly: QTcF rounds half-up to m when (m - 0.5)^3 x RR <= QT^3 < (m + 0.5)^3 x RR
    (both sides cubed; with RR = 60 / HR both sides are multiplied by HR so no division is left).
    """
    qt = _positive("qt_ms", qt_ms)
    if (rr_ms is None) == (heart_rate_bpm is None):
        raise DerivationError(
            "rr_ms",
            "Enter either the RR interval or the heart rate (one of the two, not both).",
            "rr_or_heart_rate",
        )
    with localcontext() as context:
        context.prec = _PRECISION
        if rr_ms is not None:
            rr_s = _positive("rr_ms", rr_ms) / _MS_PER_SECOND
            scale, qt_side = rr_s, qt**3  # (m +/- 0.5)^3 x RR  vs  QT^3
        else:
            heart_rate = _positive("heart_rate_bpm", heart_rate_bpm)
            rr_s = _SECONDS_PER_MINUTE / heart_rate
            # (m +/- 0.5)^3 x 60 / HR vs QT^3  <=>  (m +/- 0.5)^3 x 60 vs QT^3 x HR
            scale, qt_side = _SECONDS_PER_MINUTE, qt**3 * heart_rate
        cube_root = (rr_s.ln() / 3).exp()
        candidate = int((qt / cube_root).to_integral_value(rounding=ROUND_HALF_UP))
        while candidate > 0 and (candidate - _HALF) ** 3 * scale > qt_side:
            candidate -= 1
        while (candidate + _HALF) ** 3 * scale <= qt_side:
            candidate += 1
        return candidate


_DIPSTICK_PLUS = {"negative": 0, "trace": 0, "1+": 1, "2+": 2, "3+": 3, "4+": 4}


def needs_24h_protein(reading: str, from_plus: int) -> bool:
    """Is the 24-h urine protein expected after this dipstick reading?

    Issue 13 / PROTOCOL.md "Schedule of assessments": "urinalysis (dipstick protein; 24-h
    protein if >= 2+)" [default], ``from_plus`` being
    ``protocol.URINE_PROTEIN_24H_FROM_DIPSTICK_PLUS`` (2): "1+" no, "2+" yes, "3+" and "4+"
    yes; negative and trace no.
    An unknown reading is refused (``DerivationError``)."""
    plus = _DIPSTICK_PLUS.get(str(reading).strip().lower())
    if plus is None:
        raise DerivationError(
            "protein_dipstick", f"{reading!r} is not a dipstick reading.", "invalid_choice"
        )
    return plus >= from_plus
