"""CTCAE wording and lab units as people read them: CTCAE's "x 10e9 /L" as ×10⁹/L, then the
project's unit convention (``alter_s006.templatetags.edc_format.format_unit``: 10⁹/L, µmol/L,
/mm³, ≥, ≤). Display only: what is stored stays ASCII."""

from django import template

from alter_s006.templatetags.edc_format import format_unit

register = template.Library()

_CTCAE = (
    ("x 10e9 /L", "×10⁹/L"),
    ("10e9 /L", "10⁹/L"),
)


@register.filter
def clinical(text) -> str:
    """``{{ r.definition|clinical }}``: "<1.0 - 0.5 x 10e9 /L" -> "<1.0 - 0.5 ×10⁹/L"."""
    if text is None:
        return ""
    text = str(text)
    for plain, written in _CTCAE:
        text = text.replace(plain, written)
    return format_unit(text)
