"""Reads of safety: CTCAE term search, the AE reporting window, the SAE listing, lab panels
and the adverse events their values offer.

Nothing here writes; the services (``safety.services``) import these, never the reverse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, CharField, IntegerField, Q, Value, When
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.access import scope
from alter_s006 import protocol as P
from safety import adverse_events as rules
from safety import ctcae
from safety.models import (
    AdverseEvent,
    CtcaeTerm,
    LabPanel,
    LabResult,
    SaeReport,
)
from subjects.lifecycle import SubjectStatus as S
from subjects.models import Subject


def search_terms(q: str, limit: int = 20) -> list[CtcaeTerm]:
    """Terms matching every word of ``q`` in the term or its SOC, a MedDRA code prefix, or the
    terms ``q`` is a synonym or abbreviation of (``ctcae.SYNONYMS``: "HFSR", "ALT", "QTc").

    Synonym targets first (in the table's order), then the exact term, terms starting with
    ``q``, other term matches, then SOC matches; alphabetical within each."""
    q = " ".join((q or "").split())
    if not q:
        return []
    terms = CtcaeTerm.objects.all()
    if q.isdigit():
        terms = terms.annotate(code=Cast("meddra_code", CharField())).filter(code__startswith=q)
        return list(terms.order_by("meddra_code")[:limit])
    synonyms = ctcae.synonym_terms(q)
    words = Q()
    for word in q.split():
        words &= Q(term__icontains=word) | Q(soc__icontains=word)
    terms = terms.filter(words | Q(term__in=synonyms)).annotate(
        rank=Case(
            *(When(term=name, then=Value(i - len(synonyms))) for i, name in enumerate(synonyms)),
            When(term__iexact=q, then=Value(0)),
            When(term__istartswith=q, then=Value(1)),
            When(term__icontains=q, then=Value(2)),
            default=Value(3),
            output_field=IntegerField(),
        )
    )
    return list(terms.order_by("rank", "term")[:limit])


def first_dose_date(subject: Subject) -> dt.date | None:
    """C1D1 once the subject has started treatment (before that it is only planned)."""
    if subject.c1d1_date is None:
        return None
    started = subject.status_changes.filter(to_status=S.ON_TREATMENT).exists()
    return subject.c1d1_date if started else None


def reporting_window(subject: Subject) -> rules.ReportingWindow | None:
    """First dose to last dose + 21 days (open while dosing); None before the first dose."""
    return rules.reporting_window(first_dose_date(subject), subject.last_dose_date)


def in_window(subject: Subject, onset: dt.date) -> bool:
    window = reporting_window(subject)
    return window is not None and window.contains(onset)


LISTING_TERM_DEFERRED = ("grade_1", "grade_2", "grade_3", "grade_4", "grade_5", "definition")


def sae_listing(user, *, signers: bool = False):
    """SAE reports the user may see: overdue first, then pending by due time, then submitted.

    ``signers``: with who submitted and signed each (the API returns them; the page does
    not): two joins more, and a join of eight tables takes PostgreSQL longer to plan than
    to run at a few hundred reports."""
    related = ["ae__subject__site", "ae__term"] + (["submitted_by", "signed_by"] if signers else [])
    reports = scope(
        SaeReport.objects.select_related(*related)
        # the listing names the term only: not its five grade texts and definition (rows
        # the database sorts are ~2.6 kB narrower)
        .defer(*(f"ae__term__{f}" for f in LISTING_TERM_DEFERRED))
        .filter(ae__serious=True),
        user,
        site_path="ae__subject__site",
    )
    # overdue as SaeReport.objects.overdue() says it (rules.is_overdue: not submitted and
    # due before now), on the row itself: no subquery of every overdue report to join
    return reports.annotate(
        state=Case(
            When(submitted_at__isnull=True, due_at__lt=timezone.now(), then=Value(0)),
            When(submitted_at__isnull=True, then=Value(1)),
            default=Value(2),
            output_field=IntegerField(),
        )
    ).order_by("state", "due_at", "id")


@dataclass(frozen=True)
class OfferedAe:
    """A lab value of grade >= 2 without a matching AE, and the AE it would pre-fill."""

    result: LabResult
    term: CtcaeTerm
    prefill: dict = field(default_factory=dict)


def matching_terms(subject_id: int, results: list[LabResult]) -> dict[int, bool]:
    """Result id -> an AE of its term covers its sample date (or one was recorded from it)."""
    wanted = {r.term for r in results if r.ae_id is None}
    aes = list(
        AdverseEvent.objects.filter(subject_id=subject_id, term__term__in=wanted).values_list(
            "term__term", "onset_date", "end_date", "ongoing"
        )
    )
    out = {}
    for r in results:
        day = r.panel.sample_date
        out[r.pk] = r.ae_id is not None or any(
            term == r.term and rules.covers(onset, end, ongoing, day)
            for term, onset, end, ongoing in aes
        )
    return out


def offerable(results) -> list[LabResult]:
    return [
        r for r in results if r.grade is not None and r.grade >= P.LAB_AE_OFFER_MIN_GRADE and r.term
    ]


def offered_aes(panel: LabPanel) -> list[OfferedAe]:
    """Values of grade >= 2 of the panel without a matching AE, each with the AE pre-fill.

    Matching: an AE of the same CTCAE term for the subject with onset on or before the sample
    date and ongoing or ended on or after it (or an AE recorded from that very value)."""
    return offers_by_panel([panel]).get(panel.pk, [])


def offers_by_panel(panels) -> dict[int, list[OfferedAe]]:
    """``offered_aes`` of several panels of one subject in a fixed number of queries."""
    panels = list(panels)
    if not panels:
        return {}
    results = []
    for panel in panels:
        for r in offerable(panel.results.all()):
            r.panel = panel
            results.append(r)
    matched = matching_terms(panels[0].subject_id, results)
    open_results = [r for r in results if not matched[r.pk]]
    terms = {t.term: t for t in CtcaeTerm.objects.filter(term__in={r.term for r in open_results})}
    offers: dict[int, list[OfferedAe]] = {}
    for r in open_results:
        term = terms.get(r.term)
        if term is None:  # pragma: no cover - every grading term is in the dictionary (tested)
            continue
        offers.setdefault(r.panel.pk, []).append(
            OfferedAe(
                result=r,
                term=term,
                prefill={
                    "term": term.pk,
                    "grade": r.grade,
                    "onset_date": r.panel.sample_date,
                    "verbatim": f"{term.term} ({r.label} {r.display_value} {r.unit})",
                    "lab_result": r.pk,
                },
            )
        )
    return offers


def lab_panels(subject: Subject):
    """The subject's panels, latest first, with their results."""
    return subject.lab_panels.select_related("visit", "recorded_by").prefetch_related("results")
