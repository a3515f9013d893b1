"""Reads of the visit CRFs: the CTCAE grades a CRF derived, and the adverse events they offer.

A grade >= ``LAB_AE_OFFER_MIN_GRADE`` without an AE of that term covering the date of
assessment is offered as an AE, pre-filled (term, grade, onset, verbatim): the lab panel's
pattern (``safety.selectors.offered_aes``), same matching rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from alter_s006 import protocol as P
from safety.models import AdverseEvent, CtcaeTerm

# derived grade field -> CTCAE v4.03 term it grades (the weight's term is stored: loss or gain)
GRADED_TERMS = {
    "hypertension_grade": "Hypertension",
    "fever_grade": "Fever",
    "qtc_grade": "Electrocardiogram QT corrected interval prolonged",
    "proteinuria_grade": "Proteinuria",
}


@dataclass(frozen=True)
class DerivedGrade:
    field: str
    term: str
    grade: int
    shown: str  # what was measured, for the verbatim


def derived_grades(record) -> list[DerivedGrade]:
    out = []
    for name, term in GRADED_TERMS.items():
        grade = getattr(record, name, None)
        if grade:
            out.append(DerivedGrade(name, term, grade, _shown(record, name)))
    if getattr(record, "weight_grade", None):
        out.append(
            DerivedGrade(
                "weight_grade", record.weight_term, record.weight_grade, record.weight_note
            )
        )
    return out


def _shown(record, name: str) -> str:
    if name == "hypertension_grade":
        return f"BP {record.systolic}/{record.diastolic} mm Hg"
    if name == "fever_grade":
        return f"{record.temperature} °C"
    if name == "qtc_grade":
        return f"QTcF {record.qtcf} ms"
    if record.protein_24h is not None:
        return f"urine protein {record.protein_24h} g/24 h"
    return f"urine protein dipstick {record.protein_dipstick}"


def offered_aes(record) -> list[dict]:
    """The grades of ``record`` that ask for an AE none covers: each with the AE pre-fill."""
    grades = [g for g in derived_grades(record) if g.grade >= P.LAB_AE_OFFER_MIN_GRADE]
    if not grades:
        return []
    day = record.assessed_on
    aes = AdverseEvent.objects.filter(
        subject_id=record.subject_id, term__term__in={g.term for g in grades}
    ).values_list("term__term", "onset_date", "end_date", "ongoing")
    covered = {
        term
        for term, onset, end, ongoing in aes
        if onset <= day and (ongoing or (end is not None and end >= day))
    }
    open_grades = [g for g in grades if g.term not in covered]
    if not open_grades:
        return []
    terms = {t.term: t for t in CtcaeTerm.objects.filter(term__in={g.term for g in open_grades})}
    return [
        {
            "grade": g,
            "term": terms[g.term],
            "prefill": {
                "term": terms[g.term].pk,
                "grade": g.grade,
                "onset_date": day.isoformat(),
                "verbatim": f"{g.term} ({g.shown})"[:200],
            },
        }
        for g in open_grades
        if g.term in terms
    ]
