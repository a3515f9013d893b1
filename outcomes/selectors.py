"""Reads of the outcome forms: which visit forms are complete, the last date known alive, and
the overall-survival data of a subject (PROTOCOL.md "Outcomes": OS from the first dose to
death from any cause, censored at the last date known alive).

Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Max, OuterRef, Q, Subquery
from django.db.models.functions import Greatest

from alter_s006.sql import id_array
from dosing.models import Dispensing
from outcomes import rules
from outcomes.models import Death, EndOfTreatment, SurvivalFollowUp
from safety.models import AdverseEvent, LabPanel
from subjects.lifecycle import SubjectStatus as S
from subjects.models import Subject, Visit

END_OF_TREATMENT = "end_of_treatment"
SURVIVAL_FOLLOW_UP = "survival_follow_up"
# form key -> the model whose row, tied to the visit, is the complete form
VISIT_FORMS = {END_OF_TREATMENT: EndOfTreatment, SURVIVAL_FOLLOW_UP: SurvivalFollowUp}


def completed_forms(visit_ids: Iterable[int]) -> set[tuple[int, str]]:
    """The (visit id, form key) pairs complete among ``visit_ids``: a stored form passed its
    service's checks, so it is complete. One query per form model, whatever the visits."""
    ids = list(visit_ids)
    if not ids:
        return set()
    return {
        (visit_id, key)
        for key, model in VISIT_FORMS.items()
        for visit_id in model.objects.filter(visit_id__in=id_array(ids)).values_list(
            "visit_id", flat=True
        )
    }


def _latest(model, column: str, **filters) -> Subquery:
    rows = model.objects.filter(subject=OuterRef("pk"), **filters).order_by().values("subject")
    return Subquery(rows.annotate(latest=Max(column)).values("latest")[:1])


def last_known_alive(subject: Subject) -> rules.KnownAlive | None:
    """The latest date the subject is known to have been alive, and where it comes from
    (``rules.latest_known_alive``): a survival follow-up's last date known alive, a visit
    done, the last dose (recorded at stop) or a dispensing / return, an adverse event's onset
    or (not fatal) end, a lab sample; the consent at least. One query."""
    fatal = Q(grade=5) | Q(outcome=AdverseEvent.Outcome.FATAL)
    row = (
        Subject.objects.filter(pk=subject.pk)
        .annotate(
            follow_up=_latest(SurvivalFollowUp, "last_known_alive"),
            visit=_latest(Visit, "actual_date"),
            dispensed=_latest(Dispensing, Greatest("dispensed_on", "returned_on")),
            ae_onset=_latest(AdverseEvent, "onset_date"),
            ae_end=Subquery(
                AdverseEvent.objects.filter(subject=OuterRef("pk"))
                .exclude(fatal)
                .order_by()
                .values("subject")
                .annotate(latest=Max("end_date"))
                .values("latest")[:1]
            ),
            lab=_latest(LabPanel, "sample_date"),
        )
        .values(
            "follow_up",
            "visit",
            "last_dose_date",
            "dispensed",
            "ae_onset",
            "ae_end",
            "lab",
            "consent_date",
        )
        .get()
    )
    ae = max((d for d in (row["ae_onset"], row["ae_end"]) if d), default=None)
    dose = max((d for d in (row["last_dose_date"], row["dispensed"]) if d), default=None)
    A = rules.AliveSource
    return rules.latest_known_alive(
        [
            (row["follow_up"], A.FOLLOW_UP),
            (row["visit"], A.VISIT),
            (dose, A.DOSE),
            (ae, A.ADVERSE_EVENT),
            (row["lab"], A.LAB),
            (row["consent_date"], A.CONSENT),
        ]
    )


@dataclass(frozen=True)
class OverallSurvival:
    """OS data of one subject: from the first dose to death (``event``) or, alive, to the last
    date known alive (censored)."""

    start: dt.date | None
    end: dt.date | None
    event: bool
    source: str  # "death", or the last-known-alive source


def death_date(subject: Subject) -> dt.date | None:
    """The date of death: the death form's, else the status date of a deceased subject."""
    recorded = Death.objects.filter(subject=subject).values_list("death_date", flat=True).first()
    if recorded is not None:
        return recorded
    return subject.status_date if subject.status == S.DIED else None


def overall_survival(subject: Subject) -> OverallSurvival:
    died = death_date(subject)
    if died is not None:
        return OverallSurvival(subject.c1d1_date, died, True, "death")
    known = last_known_alive(subject)
    return OverallSurvival(
        subject.c1d1_date,
        known.on if known else None,
        False,
        known.source.value if known else "",
    )
