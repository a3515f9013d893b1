"""Reads of the visit CRFs: the CTCAE grades a CRF derived, and the adverse events they offer.

A grade >= ``LAB_AE_OFFER_MIN_GRADE`` without an AE of that term covering the date of
assessment is offered as an AE, pre-filled (term, grade, onset, verbatim): the lab panel's
pattern (``safety.selectors.offered_aes``), same matching rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from alter_s006 import protocol as P
from safety.adverse_events import covers
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
    return offered_aes_many([record]).get(record.pk, [])


def offered_aes_many(records) -> dict[int, list[dict]]:
    """``offered_aes`` of several records of one subject: two queries whatever their number."""
    wanted = {
        r.pk: [g for g in derived_grades(r) if g.grade >= P.LAB_AE_OFFER_MIN_GRADE] for r in records
    }
    wanted = {pk: grades for pk, grades in wanted.items() if grades}
    if not wanted:
        return {}
    by_pk = {r.pk: r for r in records}
    subject_ids = {by_pk[pk].subject_id for pk in wanted}
    all_terms = {g.term for grades in wanted.values() for g in grades}
    aes = list(
        AdverseEvent.objects.filter(
            subject_id__in=subject_ids, term__term__in=all_terms
        ).values_list("subject_id", "term__term", "onset_date", "end_date", "ongoing")
    )
    terms = {t.term: t for t in CtcaeTerm.objects.filter(term__in=all_terms)}
    out: dict[int, list[dict]] = {}
    for pk, grades in wanted.items():
        record = by_pk[pk]
        day = record.assessed_on
        covered = {
            term
            for subject_id, term, onset, end, ongoing in aes
            if subject_id == record.subject_id and covers(onset, end, ongoing, day)
        }
        offers = [
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
            for g in grades
            if g.term not in covered and g.term in terms
        ]
        if offers:
            out[pk] = offers
    return out
