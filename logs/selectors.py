"""Reads of the log forms: lists for a page at a fixed number of queries, the medication
names already used at a site (type-ahead), and the baseline condition an AE may continue."""

from __future__ import annotations

from accounts.access import sites_for
from logs import rules
from logs.models import ConMed, Deviation, MedicalHistory
from safety.models import CtcaeTerm

NAME_SUGGESTIONS = 15


def con_meds(subject):
    return subject.con_meds.select_related("indication_ae__term", "indication_history__term")


def history(subject):
    return subject.medical_history.select_related("term")


def deviations(subject):
    return subject.deviations.select_related("decided_by")


def con_med_names(user, site_id: int, typed: str, limit: int = NAME_SUGGESTIONS) -> list[str]:
    """Distinct medication names already entered at ``site_id`` that contain ``typed``
    (case-insensitive), if the user may see that site; most used first."""
    typed = (typed or "").strip()
    if not typed or not sites_for(user).filter(pk=site_id).exists():
        return []
    rows = (
        ConMed.objects.filter(subject__site_id=site_id, name__icontains=typed)
        .values_list("name", flat=True)
        .order_by("name")
        .distinct()
    )
    return list(rows[:limit])


def baseline_conditions(subject) -> list[rules.BaselineCondition]:
    return [
        rules.BaselineCondition(
            key=mh.pk, term=mh.match_term, ongoing=mh.ongoing, grade=mh.baseline_grade
        )
        for mh in history(subject).filter(ongoing=True)
    ]


def baseline_match(subject, term, grade) -> MedicalHistory | None:
    """The ongoing medical-history item an AE of ``term`` (a CtcaeTerm or its name) at
    ``grade`` may only continue (``logs.rules.matches_baseline_condition``), or None."""
    if term is None or grade is None:
        return None
    name = term.term if isinstance(term, CtcaeTerm) else str(term)
    found = rules.matches_baseline_condition(name, int(grade), baseline_conditions(subject))
    if found is None:
        return None
    return history(subject).get(pk=found.key)


__all__ = ["Deviation", "baseline_match", "con_med_names", "con_meds", "deviations", "history"]
