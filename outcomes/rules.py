"""Date-order and reason rules of the forms that end treatment and follow survival.

Sources, ``docs/PROTOCOL.md``:

* "The trial": treatment continues "until RECIST 1.1 progression or unacceptable toxicity (or
  withdrawal, death, investigator decision)" — the reasons to stop (:class:`StopReason`);
  toxicity is an adverse event, so a stop for toxicity names it.
* "Schedule": end of treatment "within 7 days of the decision to stop"; the decision cannot
  precede the last dose (the dosing calendar's, ``dosing.services.last_dose``); survival
  follow-up "until death, withdrawal or 24 months".
* "Outcomes": OS ends at "death from any cause; censored at last date known alive" (the date of
  death and :func:`latest_known_alive`); PFS ends at the first progression or death (a new
  progression date reported at survival follow-up, when none is recorded yet).
* "Outcomes" (Safety): CTCAE v4.03 — a death caused by an adverse event is its grade 5, so the
  event linked as the cause must be of a term that has a grade 5 (``safety.ctcae``), and is
  expected to be recorded at grade 5 (:func:`death_warnings`).
* Outcomes section appended to PROTOCOL.md (issue 13): the [default] choices below — a
  withdrawal from all further follow-up, or from the use of the data (which includes it),
  ends the subject's participation (status withdrawn); one from treatment only does not;
  subsequent therapy lines ``P.SUBSEQUENT_THERAPY_LINES`` (2-10).

Each check returns :class:`Refusal` values (field, stable ``code``, ``params``); the services
word them (translated) and raise them as a field-keyed ``ValidationError``. A date equal to its
limit is accepted (the decision on the day of the last dose, a death today, the last date known
alive on the contact date); one day past it is refused.

Pure Python: no Django import.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from alter_s006 import protocol as P


class StopReason(StrEnum):
    PROGRESSION = "progression"
    TOXICITY = "toxicity"
    WITHDRAWAL = "withdrawal"
    INVESTIGATOR = "investigator"
    DEATH = "death"
    OTHER = "other"


class DeathCause(StrEnum):
    PROGRESSION = "disease_progression"
    ADVERSE_EVENT = "adverse_event"
    OTHER = "other"


class Autopsy(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


class ContactMode(StrEnum):
    CLINIC = "clinic_visit"
    TELEPHONE = "telephone"
    RECORDS = "medical_records"
    OTHER = "other"


class VitalStatus(StrEnum):
    ALIVE = "alive"
    DEAD = "dead"
    LOST = "lost_to_follow_up"


class WithdrawalScope(StrEnum):
    TREATMENT = "treatment_only"
    FOLLOW_UP = "all_follow_up"
    DATA_USE = "data_use"


# Scopes that end participation (lifecycle: withdrawn). Data use includes all follow-up.
ENDS_PARTICIPATION = frozenset({WithdrawalScope.FOLLOW_UP, WithdrawalScope.DATA_USE})


@dataclass(frozen=True)
class Refusal:
    field: str
    code: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class AeFacts:
    """What the rules read of the adverse event linked (``safety.AdverseEvent``)."""

    onset: date
    grade: int
    end: date | None
    term_allows_grade_5: bool


def _iso(d: date) -> str:
    return d.isoformat()


def _first(refusals: Iterable[Refusal]) -> list[Refusal]:
    """One refusal per field: the first found (the most basic) wins."""
    seen: dict[str, Refusal] = {}
    for r in refusals:
        seen.setdefault(r.field, r)
    return list(seen.values())


# --- end of treatment ---------------------------------------------------------------------------


def end_of_treatment_refusals(
    *,
    decision_date: date,
    today: date,
    last_dose: date | None,
    reason: str,
    ae: AeFacts | None,
    other_text: str,
) -> list[Refusal]:
    """The decision to stop: not in the future, not before the last dose; a stop for toxicity
    names its adverse event (begun by the decision), one for another reason names none; "other"
    is described."""
    found: list[Refusal] = []
    if decision_date > today:
        found.append(Refusal("decision_date", "future_date"))
    if last_dose is None:
        found.append(Refusal("decision_date", "no_dose"))
    elif decision_date < last_dose:
        found.append(Refusal("decision_date", "before_last_dose", {"d": _iso(last_dose)}))
    if reason == StopReason.TOXICITY:
        if ae is None:
            found.append(Refusal("toxicity_ae", "ae_required"))
        elif ae.onset > decision_date:
            found.append(Refusal("toxicity_ae", "ae_after_decision", {"d": _iso(ae.onset)}))
    elif ae is not None:
        found.append(Refusal("toxicity_ae", "ae_not_expected"))
    if reason == StopReason.OTHER and not (other_text or "").strip():
        found.append(Refusal("reason_other", "other_required"))
    return _first(found)


# --- death --------------------------------------------------------------------------------------


def death_refusals(
    *,
    death_date: date,
    today: date,
    consent_date: date,
    recorded_death: date | None,
    cause: str,
    ae: AeFacts | None,
    other_text: str,
) -> list[Refusal]:
    """The date of death: not before consent, not after today, the date already recorded if the
    subject's death is (a fatal AE records it); a death from an AE names an event of a term
    that has a grade 5, begun by the death (and, if already grade 5, ended on it)."""
    found: list[Refusal] = []
    if death_date > today:
        found.append(Refusal("death_date", "future_date"))
    if death_date < consent_date:
        found.append(Refusal("death_date", "before_consent", {"d": _iso(consent_date)}))
    if recorded_death is not None and death_date != recorded_death:
        found.append(Refusal("death_date", "not_the_death_date", {"d": _iso(recorded_death)}))
    if cause == DeathCause.ADVERSE_EVENT:
        found += _cause_ae(ae, death_date)
    elif ae is not None:
        found.append(Refusal("cause_ae", "ae_not_expected"))
    if cause == DeathCause.OTHER and not (other_text or "").strip():
        found.append(Refusal("cause_other", "other_required"))
    return _first(found)


def _cause_ae(ae: AeFacts | None, death_date: date) -> list[Refusal]:
    if ae is None:
        return [Refusal("cause_ae", "ae_required")]
    if not ae.term_allows_grade_5:
        return [Refusal("cause_ae", "ae_term_not_fatal")]
    if ae.onset > death_date:
        return [Refusal("cause_ae", "ae_after_death", {"d": _iso(ae.onset)})]
    if ae.grade == 5 and ae.end is not None and ae.end != death_date:
        return [Refusal("cause_ae", "ae_end_not_death", {"d": _iso(ae.end)})]
    return []


def death_warnings(*, cause: str, ae: AeFacts | None) -> list[Refusal]:
    """Not refused, shown: the AE named as the cause of death is not (yet) recorded at grade 5
    (CTCAE v4.03: grade 5 is death related to the AE) — its record is to be updated."""
    if cause == DeathCause.ADVERSE_EVENT and ae is not None and ae.grade != 5:
        return [Refusal("cause_ae", "ae_not_grade_5", {"g": ae.grade})]
    return []


# --- survival follow-up -------------------------------------------------------------------------


@dataclass(frozen=True)
class Therapy:
    regimen: str
    start_date: date | None
    line: int | None


def survival_follow_up_refusals(
    *,
    contact_date: date,
    today: date,
    consent_date: date,
    c1d1: date | None,
    last_dose: date | None,
    status: str,
    last_known_alive: date | None,
    death_date: date | None,
    recorded_progression: date | None,
    new_progression_date: date | None,
    therapies: Sequence[Therapy] = (),
) -> list[Refusal]:
    """The contact (not in the future, not before consent), a status other than dead against
    a death recorded by the contact, the last date known alive (required unless dead; not
    after the contact, nor before consent), a new progression (only if none is recorded; from
    C1D1 to the contact) and each subsequent therapy (regimen, line 2-10, started from the last
    dose to the contact)."""
    found: list[Refusal] = []
    if contact_date > today:
        found.append(Refusal("contact_date", "future_date"))
    if contact_date < consent_date:
        found.append(Refusal("contact_date", "before_consent", {"d": _iso(consent_date)}))
    found += _vital_status(status, death_date, contact_date)
    found += _last_known_alive(status, last_known_alive, contact_date, consent_date, death_date)
    found += _progression(new_progression_date, recorded_progression, contact_date, c1d1)
    for i, therapy in enumerate(therapies):
        found += _therapy(f"therapies-{i}-", therapy, contact_date, last_dose)
    return _first(found)


def _vital_status(status: str, death_date: date | None, contact_date: date) -> list[Refusal]:
    if status != VitalStatus.DEAD and death_date is not None and death_date <= contact_date:
        return [Refusal("status", "death_recorded", {"d": _iso(death_date)})]
    return []


def survival_follow_up_warnings(*, status: str, death_date: date | None) -> list[Refusal]:
    """Not refused, shown with a link to the death form: status dead with no death recorded
    yet. (Refusing it would lose the contact: recording the death first removes the survival
    visits planned after it, the one of this contact among them.)"""
    if status == VitalStatus.DEAD and death_date is None:
        return [Refusal("status", "death_not_recorded")]
    return []


def _last_known_alive(status, known, contact_date, consent_date, death_date) -> list[Refusal]:
    if known is None:
        return [] if status == VitalStatus.DEAD else [Refusal("last_known_alive", "required")]
    if known > contact_date:
        return [Refusal("last_known_alive", "after_contact", {"d": _iso(contact_date)})]
    if known < consent_date:
        return [Refusal("last_known_alive", "before_consent", {"d": _iso(consent_date)})]
    if death_date is not None and known > death_date:
        return [Refusal("last_known_alive", "after_death", {"d": _iso(death_date)})]
    return []


def _progression(new, recorded, contact_date, c1d1) -> list[Refusal]:
    if new is None:
        return []
    if recorded is not None:
        return [
            Refusal("new_progression_date", "progression_already_recorded", {"d": _iso(recorded)})
        ]
    if new > contact_date:
        return [Refusal("new_progression_date", "after_contact", {"d": _iso(contact_date)})]
    if c1d1 is None or new < c1d1:
        return [Refusal("new_progression_date", "before_c1d1")]
    return []


def _therapy(prefix: str, t: Therapy, contact_date: date, last_dose: date | None):
    found: list[Refusal] = []
    if not (t.regimen or "").strip():
        found.append(Refusal(f"{prefix}regimen", "required"))
    low, high = P.SUBSEQUENT_THERAPY_LINES
    if t.line is None:
        found.append(Refusal(f"{prefix}line", "required"))
    elif not low <= t.line <= high:
        found.append(Refusal(f"{prefix}line", "line_out_of_range", {"low": low, "high": high}))
    if t.start_date is None:
        found.append(Refusal(f"{prefix}start_date", "required"))
    elif t.start_date > contact_date:
        found.append(Refusal(f"{prefix}start_date", "after_contact", {"d": _iso(contact_date)}))
    elif last_dose is not None and t.start_date < last_dose:
        found.append(Refusal(f"{prefix}start_date", "before_last_dose", {"d": _iso(last_dose)}))
    return found


# --- withdrawal of consent ----------------------------------------------------------------------


def withdrawal_refusals(*, withdrawal_date: date, today: date, consent_date: date):
    """Consent is withdrawn after it was given and not in the future."""
    found: list[Refusal] = []
    if withdrawal_date > today:
        found.append(Refusal("withdrawal_date", "future_date"))
    if withdrawal_date < consent_date:
        found.append(Refusal("withdrawal_date", "before_consent", {"d": _iso(consent_date)}))
    return _first(found)


def ends_participation(scope: str) -> bool:
    """A withdrawal from all further follow-up (or from the use of the data) ends the subject's
    participation; one from treatment only leaves follow-up going."""
    return scope in ENDS_PARTICIPATION


# --- last date known alive ----------------------------------------------------------------------


class AliveSource(StrEnum):
    FOLLOW_UP = "survival_follow_up"
    VISIT = "visit"
    DOSE = "dose"
    ADVERSE_EVENT = "adverse_event"
    LAB = "lab_panel"
    CONSENT = "consent"


@dataclass(frozen=True)
class KnownAlive:
    on: date
    source: AliveSource


def latest_known_alive(candidates: Iterable[tuple[date | None, AliveSource]]) -> KnownAlive | None:
    """The latest date among the evidence that the subject was alive (OS censoring, PROTOCOL.md
    "Outcomes"); on a tie the first source given wins (list the most direct evidence first)."""
    best: KnownAlive | None = None
    for on, source in candidates:
        if on is not None and (best is None or on > best.on):
            best = KnownAlive(on, source)
    return best
