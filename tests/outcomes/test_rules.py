"""Pure rules of the outcome forms (no database): each boundary on both sides, by hand.

Dates: consent 2025-12-20, C1D1 2026-01-05, last dose 2026-03-01, today 2026-03-02.
"""

from __future__ import annotations

import datetime as dt

import pytest

from alter_s006 import protocol as P
from outcomes import rules
from outcomes.rules import AliveSource as A

D = dt.date
CONSENT, C1D1, LAST_DOSE, TODAY = D(2025, 12, 20), D(2026, 1, 5), D(2026, 3, 1), D(2026, 3, 2)


def codes(refusals) -> dict[str, str]:
    return {r.field: r.code for r in refusals}


AE_ONSET = D(2026, 2, 20)


def ae(onset=AE_ONSET, grade=3, end=None, fatal_term=True):
    return rules.AeFacts(onset=onset, grade=grade, end=end, term_allows_grade_5=fatal_term)


# --- end of treatment -----------------------------------------------------------------------


def eot(**kw):
    args = {
        "decision_date": TODAY,
        "today": TODAY,
        "last_dose": LAST_DOSE,
        "reason": "progression",
        "ae": None,
        "other_text": "",
    } | kw
    return codes(rules.end_of_treatment_refusals(**args))


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (D(2026, 2, 28), {"decision_date": "before_last_dose"}),  # the day before the last dose
        (D(2026, 3, 1), {}),  # the day of the last dose
        (D(2026, 3, 2), {}),  # today
        (D(2026, 3, 3), {"decision_date": "future_date"}),  # tomorrow
    ],
)
def test_decision_between_last_dose_and_today(decision, expected):
    assert eot(decision_date=decision) == expected


def test_no_dose_no_end_of_treatment():
    assert eot(last_dose=None) == {"decision_date": "no_dose"}


@pytest.mark.parametrize(
    ("onset", "expected"),
    [
        (D(2026, 3, 2), {}),  # began on the decision day
        (D(2026, 3, 3), {"toxicity_ae": "ae_after_decision"}),  # the day after
    ],
)
def test_toxicity_adverse_event_begins_by_the_decision(onset, expected):
    assert eot(reason="toxicity", ae=ae(onset=onset), today=D(2026, 3, 9)) == expected


def test_reason_rules():
    assert eot(reason="toxicity") == {"toxicity_ae": "ae_required"}
    assert eot(reason="progression", ae=ae()) == {"toxicity_ae": "ae_not_expected"}
    assert eot(reason="other", other_text="  ") == {"reason_other": "other_required"}
    assert eot(reason="other", other_text="Moved abroad") == {}


# --- death ----------------------------------------------------------------------------------


def death(**kw):
    args = {
        "death_date": TODAY,
        "today": TODAY,
        "consent_date": CONSENT,
        "recorded_death": None,
        "cause": "disease_progression",
        "ae": None,
        "other_text": "",
    } | kw
    return codes(rules.death_refusals(**args))


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2025, 12, 19), {"death_date": "before_consent"}),
        (D(2025, 12, 20), {}),  # the consent day
        (D(2026, 3, 2), {}),  # today
        (D(2026, 3, 3), {"death_date": "future_date"}),
    ],
)
def test_death_between_consent_and_today(day, expected):
    assert death(death_date=day) == expected


def test_death_already_recorded_fixes_the_date():
    assert death(recorded_death=D(2026, 3, 1)) == {"death_date": "not_the_death_date"}
    assert death(death_date=D(2026, 3, 1), recorded_death=D(2026, 3, 1)) == {}


def test_death_from_an_adverse_event():
    cause = "adverse_event"
    assert death(cause=cause) == {"cause_ae": "ae_required"}
    assert death(cause=cause, ae=ae(fatal_term=False)) == {"cause_ae": "ae_term_not_fatal"}
    assert death(cause=cause, ae=ae(onset=D(2026, 3, 3)), today=D(2026, 3, 9)) == {
        "cause_ae": "ae_after_death"
    }
    assert death(cause=cause, ae=ae(onset=TODAY)) == {}  # began on the day of death
    fatal = ae(grade=5, end=D(2026, 3, 1))
    assert death(cause=cause, ae=fatal) == {"cause_ae": "ae_end_not_death"}
    assert death(cause=cause, ae=fatal, death_date=D(2026, 3, 1)) == {}
    assert death(ae=ae()) == {"cause_ae": "ae_not_expected"}
    assert death(cause="other") == {"cause_other": "other_required"}


def test_an_adverse_event_below_grade_5_is_flagged_not_refused():
    warned = rules.death_warnings(cause="adverse_event", ae=ae(grade=4))
    assert codes(warned) == {"cause_ae": "ae_not_grade_5"}
    assert rules.death_warnings(cause="adverse_event", ae=ae(grade=5)) == []
    assert rules.death_warnings(cause="disease_progression", ae=None) == []


# --- survival follow-up ---------------------------------------------------------------------


def follow_up(**kw):
    args = {
        "contact_date": TODAY,
        "today": TODAY,
        "consent_date": CONSENT,
        "c1d1": C1D1,
        "last_dose": LAST_DOSE,
        "status": "alive",
        "last_known_alive": TODAY,
        "death_date": None,
        "recorded_progression": None,
        "new_progression_date": None,
        "therapies": (),
    } | kw
    return codes(rules.survival_follow_up_refusals(**args))


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        (D(2025, 12, 19), {"contact_date": "before_consent"}),
        (D(2025, 12, 20), {}),
        (D(2026, 3, 2), {}),
        (D(2026, 3, 3), {"contact_date": "future_date"}),
    ],
)
def test_contact_between_consent_and_today(contact, expected):
    assert follow_up(contact_date=contact, last_known_alive=None, status="dead") == expected


@pytest.mark.parametrize(
    ("known", "expected"),
    [
        (D(2025, 12, 19), {"last_known_alive": "before_consent"}),
        (D(2025, 12, 20), {}),
        (D(2026, 3, 2), {}),  # the contact date
        (D(2026, 3, 3), {"last_known_alive": "after_contact"}),
    ],
)
def test_last_known_alive_from_consent_to_the_contact(known, expected):
    assert follow_up(last_known_alive=known, today=D(2026, 3, 9)) == expected


@pytest.mark.parametrize("status", ["alive", "lost_to_follow_up"])
def test_last_known_alive_required_unless_dead(status):
    assert follow_up(status=status, last_known_alive=None) == {"last_known_alive": "required"}


def test_dead_without_last_known_alive_and_the_death_record():
    assert follow_up(status="dead", last_known_alive=None, death_date=D(2026, 2, 27)) == {}
    assert follow_up(status="dead", last_known_alive=D(2026, 2, 28), death_date=D(2026, 2, 27)) == {
        "last_known_alive": "after_death"
    }
    assert (
        follow_up(status="dead", last_known_alive=D(2026, 2, 27), death_date=D(2026, 2, 27)) == {}
    )
    warned = rules.survival_follow_up_warnings(status="dead", death_date=None)
    assert codes(warned) == {"status": "death_not_recorded"}
    assert rules.survival_follow_up_warnings(status="dead", death_date=TODAY) == []


@pytest.mark.parametrize(
    ("died", "expected"),
    [
        (D(2026, 3, 2), {"status": "death_recorded"}),  # died on the contact day
        (D(2026, 3, 3), {}),  # a death after this contact
    ],
)
def test_alive_at_a_contact_on_or_after_a_recorded_death_is_refused(died, expected):
    assert follow_up(death_date=died, last_known_alive=D(2026, 3, 1)) == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2026, 1, 4), {"new_progression_date": "before_c1d1"}),
        (D(2026, 1, 5), {}),
        (D(2026, 3, 2), {}),
        (D(2026, 3, 3), {"new_progression_date": "after_contact"}),
    ],
)
def test_new_progression_from_c1d1_to_the_contact(day, expected):
    assert follow_up(new_progression_date=day, today=D(2026, 3, 9)) == expected


def test_new_progression_only_if_none_recorded():
    assert follow_up(new_progression_date=TODAY, recorded_progression=D(2026, 2, 16)) == {
        "new_progression_date": "progression_already_recorded"
    }


LOW, HIGH = P.SUBSEQUENT_THERAPY_LINES


@pytest.mark.parametrize(
    ("line", "start", "expected"),
    [
        (LOW - 1, TODAY, {"therapies-0-line": "line_out_of_range"}),  # line 1
        (LOW, TODAY, {}),  # line 2
        (HIGH, TODAY, {}),  # line 10
        (HIGH + 1, TODAY, {"therapies-0-line": "line_out_of_range"}),  # line 11
        (LOW, D(2026, 2, 28), {"therapies-0-start_date": "before_last_dose"}),
        (LOW, D(2026, 3, 1), {}),  # the day of the last dose
        (LOW, D(2026, 3, 3), {"therapies-0-start_date": "after_contact"}),
        (None, None, {"therapies-0-line": "required", "therapies-0-start_date": "required"}),
    ],
)
def test_subsequent_therapy(line, start, expected):
    therapy = rules.Therapy(regimen="Trabectedin", start_date=start, line=line)
    assert follow_up(therapies=[therapy], today=D(2026, 3, 9)) == expected


def test_subsequent_therapy_rows_are_named_by_position():
    rows = [
        rules.Therapy("Trabectedin", TODAY, 2),
        rules.Therapy("", TODAY, 3),
    ]
    assert follow_up(therapies=rows) == {"therapies-1-regimen": "required"}


# --- withdrawal -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (D(2025, 12, 19), {"withdrawal_date": "before_consent"}),
        (D(2025, 12, 20), {}),
        (D(2026, 3, 2), {}),
        (D(2026, 3, 3), {"withdrawal_date": "future_date"}),
    ],
)
def test_withdrawal_between_consent_and_today(day, expected):
    refusals = rules.withdrawal_refusals(withdrawal_date=day, today=TODAY, consent_date=CONSENT)
    assert codes(refusals) == expected


@pytest.mark.parametrize(
    ("scope", "ends"),
    [("treatment_only", False), ("all_follow_up", True), ("data_use", True)],
)
def test_which_withdrawals_end_participation(scope, ends):
    assert rules.ends_participation(scope) is ends


# --- last date known alive ------------------------------------------------------------------


def test_latest_known_alive_takes_the_latest_date():
    known = rules.latest_known_alive(
        [(D(2026, 3, 1), A.FOLLOW_UP), (D(2026, 3, 2), A.VISIT), (None, A.DOSE)]
    )
    assert known == rules.KnownAlive(D(2026, 3, 2), A.VISIT)


def test_latest_known_alive_tie_goes_to_the_first_source():
    known = rules.latest_known_alive([(TODAY, A.FOLLOW_UP), (TODAY, A.LAB)])
    assert known.source is A.FOLLOW_UP


def test_latest_known_alive_without_evidence():
    assert rules.latest_known_alive([(None, A.VISIT)]) is None
