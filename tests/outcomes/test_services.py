"""The outcome forms on real records (tests/outcomes/conftest.py: today 2026-03-02, consent
2025-12-20, C1D1 2026-01-05, last dose in the dosing calendar 2026-03-01)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from audit.versioning import EditConflict
from dosing import services as dosing
from outcomes import selectors, services
from outcomes.models import Death, EndOfTreatment, SurvivalFollowUp, Withdrawal
from subjects.models import StatusChange, Subject, Visit
from tests.outcomes.conftest import LAST_DOSE, TODAY, hypertension
from tests.safety.conftest import term

D = dt.date
DAY = dt.timedelta(days=1)


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """2026-03-02 10:00 in Guangzhou."""


def codes(call) -> dict[str, list[str]]:
    """The codes of a refused write by field, after checking it stored nothing."""
    before = (AuditEvent.objects.count(), StatusChange.objects.count())
    with pytest.raises(ValidationError) as caught:
        call()
    assert (AuditEvent.objects.count(), StatusChange.objects.count()) == before
    return {f: [e.code for e in errs] for f, errs in caught.value.error_dict.items()}


def stop(subject, by, **overrides):
    data = {"decision_date": TODAY, "stop_reason": "progression", **overrides}
    return services.save_end_of_treatment(subject=subject, by=by, **data)


def die(subject, by, **overrides):
    data = {"death_date": TODAY, "cause": "disease_progression", "autopsy": "no", **overrides}
    return services.save_death(subject=subject, by=by, **data)


def fresh(subject):
    return Subject.objects.select_related("site").get(pk=subject.pk)


# --- end of treatment -----------------------------------------------------------------------


def test_end_of_treatment_is_stored_audited_and_stops_treatment(subject, coordinator_a):
    ae = hypertension(subject, coordinator_a)
    eot = stop(fresh(subject), coordinator_a, stop_reason="toxicity", toxicity_ae=ae)

    subject = fresh(subject)
    assert subject.status == "off_treatment"
    assert subject.status_date == TODAY
    assert subject.last_dose_date == LAST_DOSE == eot.last_dose_date
    assert eot.visit.kind == "end_of_treatment" and eot.visit.subject_id == subject.pk
    change = subject.status_changes.get(to_status="off_treatment")
    assert change.reason == "End of treatment: toxicity"
    event = AuditEvent.objects.get(table_name="outcomes_endoftreatment", action="INSERT")
    assert event.reason == "End of treatment: toxicity"
    assert event.app_username == coordinator_a.username


def test_the_dosing_calendar_stops_at_the_last_dose(subject, coordinator_a):
    before = dosing.calendar_for(fresh(subject), D(2026, 3, 9), D(2026, 3, 22))
    assert any(d.kind == "on" for d in before)  # cycle 4 would start on 03-09
    stop(subject, coordinator_a)
    subject = fresh(subject)

    days = dosing.calendar_for(subject, D(2026, 2, 16), D(2026, 4, 30))
    dosing_days = [d.day for d in days if d.kind == "on"]
    assert max(dosing_days) == LAST_DOSE
    assert all(d.kind == "discontinued" for d in days if d.day > LAST_DOSE)
    assert dosing.diary_cycle(subject) is None  # no diary for a cycle after the last dose


def test_decision_date_limits_both_sides(subject, coordinator_a):
    assert codes(lambda: stop(subject, coordinator_a, decision_date=LAST_DOSE - DAY)) == {
        "decision_date": ["before_last_dose"]
    }
    assert codes(lambda: stop(subject, coordinator_a, decision_date=TODAY + DAY)) == {
        "decision_date": ["future_date"]
    }
    assert stop(subject, coordinator_a, decision_date=LAST_DOSE).decision_date == LAST_DOSE


def test_decision_today_is_accepted(subject, coordinator_a):
    assert stop(subject, coordinator_a, decision_date=TODAY).decision_date == TODAY


def test_toxicity_needs_the_adverse_event_and_other_its_text(subject, coordinator_a):
    assert codes(lambda: stop(subject, coordinator_a, stop_reason="toxicity")) == {
        "toxicity_ae": ["ae_required"]
    }
    assert codes(lambda: stop(subject, coordinator_a, stop_reason="other")) == {
        "reason_other": ["other_required"]
    }
    assert codes(lambda: stop(subject, coordinator_a, stop_reason="nonsense")) == {
        "stop_reason": ["invalid_choice"]
    }


def test_another_subjects_adverse_event_is_refused(subject, coordinator_a, site_a):
    from tests.factories import make_subject

    other = make_subject(site_a, coordinator_a, initials="ABC")
    ae = hypertension(subject, coordinator_a)
    assert codes(lambda: stop(other, coordinator_a, stop_reason="toxicity", toxicity_ae=ae)) == {
        "toxicity_ae": ["other_subject"]
    }


def test_correction_needs_reason_and_version(subject, coordinator_a):
    eot = stop(subject, coordinator_a)
    correct = {"stop_reason": "investigator"}
    assert codes(lambda: stop(subject, coordinator_a, expected_version=eot.version, **correct)) == {
        "reason": ["required"]
    }
    with pytest.raises(EditConflict):
        stop(subject, coordinator_a, expected_version=eot.version + 1, reason="typo", **correct)
    assert codes(lambda: stop(subject, coordinator_a, **correct)) == {
        "__all__": ["already_recorded"]
    }
    saved = stop(subject, coordinator_a, expected_version=eot.version, reason="Misread", **correct)
    assert (saved.stop_reason, saved.version) == ("investigator", eot.version + 1)
    event = AuditEvent.objects.filter(table_name="outcomes_endoftreatment").latest("chain_seq")
    assert (event.action, event.reason) == ("UPDATE", "Misread")
    assert codes(
        lambda: stop(
            subject,
            coordinator_a,
            decision_date=LAST_DOSE,
            expected_version=saved.version,
            reason="date",
        )
    ) == {"decision_date": ["date_fixed"]}


def test_monitor_cannot_end_treatment(subject, monitor_a):
    with pytest.raises(PermissionDenied):
        stop(subject, monitor_a)


# --- death ----------------------------------------------------------------------------------


def test_death_is_stored_and_the_subject_is_deceased(subject, coordinator_a):
    death = die(subject, coordinator_a, death_date=TODAY - DAY, autopsy="unknown")
    subject = fresh(subject)
    assert (subject.status, subject.status_date) == ("died", TODAY - DAY)
    assert selectors.death_date(subject) == TODAY - DAY
    os = selectors.overall_survival(subject)
    assert (os.start, os.end, os.event) == (D(2026, 1, 5), TODAY - DAY, True)
    event = AuditEvent.objects.get(table_name="outcomes_death", action="INSERT")
    assert event.reason == "Death recorded: disease progression"
    assert death.autopsy == "unknown"


def test_death_date_limits_both_sides(subject, coordinator_a):
    consent = subject.consent_date
    assert codes(lambda: die(subject, coordinator_a, death_date=TODAY + DAY)) == {
        "death_date": ["future_date"]
    }
    assert codes(lambda: die(subject, coordinator_a, death_date=consent - DAY)) == {
        "death_date": ["before_consent"]
    }
    assert die(subject, coordinator_a, death_date=TODAY).death_date == TODAY


def test_death_on_the_consent_day_is_accepted(site_a, coordinator_a):
    from tests.factories import make_subject

    screened = make_subject(site_a, coordinator_a, consent_date=D(2026, 2, 1))
    assert die(screened, coordinator_a, death_date=D(2026, 2, 1)).death_date == D(2026, 2, 1)
    assert fresh(screened).status == "died"


def test_death_from_an_adverse_event_needs_a_term_with_grade_5(subject, coordinator_a):
    assert codes(lambda: die(subject, coordinator_a, cause="adverse_event")) == {
        "cause_ae": ["ae_required"]
    }
    alopecia = hypertension(subject, coordinator_a, term=term("Alopecia"), grade=1)
    assert codes(lambda: die(subject, coordinator_a, cause="adverse_event", cause_ae=alopecia)) == {
        "cause_ae": ["ae_term_not_fatal"]
    }
    ae = hypertension(subject, coordinator_a)
    death = die(subject, coordinator_a, cause="adverse_event", cause_ae=ae)
    assert death.cause_ae == ae
    warnings = services.death_warnings(death)
    assert [w.code for w in warnings] == ["ae_not_grade_5"]


def test_a_fatal_adverse_event_fixes_the_date_of_death(subject, coordinator_a):
    ae = hypertension(
        subject,
        coordinator_a,
        grade=5,
        ongoing=False,
        end_date=TODAY - DAY,
        outcome="fatal",
        serious=True,
        sae_death=True,
    )
    subject = fresh(subject)
    assert subject.status == "died"  # the AE recorded the death
    assert codes(lambda: die(subject, coordinator_a, cause="adverse_event", cause_ae=ae)) == {
        "death_date": ["not_the_death_date"],
        "cause_ae": ["ae_end_not_death"],
    }
    death = die(subject, coordinator_a, death_date=TODAY - DAY, cause="adverse_event", cause_ae=ae)
    assert services.death_warnings(death) == []


# --- survival follow-up ---------------------------------------------------------------------


@pytest.fixture
def surv1(subject, coordinator_a):
    stop(subject, coordinator_a)
    return fresh(subject).visits.get(code="SURV1")


def follow_up(visit, by, **overrides):
    data = {
        "contact_date": TODAY,
        "mode": "telephone",
        "status": "alive",
        "last_known_alive": TODAY,
        **overrides,
    }
    return services.save_survival_follow_up(visit=visit, by=by, **data)


def test_survival_follow_up_gives_the_last_date_known_alive(surv1, coordinator_a):
    saved = follow_up(
        surv1,
        coordinator_a,
        therapies=[{"regimen": "Pazopanib 800 mg", "start_date": TODAY, "line": 2}],
    )
    assert [(t.regimen, t.line) for t in saved.therapies.all()] == [("Pazopanib 800 mg", 2)]
    known = selectors.last_known_alive(surv1.subject)
    assert (known.on, known.source) == (TODAY, "survival_follow_up")
    os = selectors.overall_survival(fresh(surv1.subject))
    assert (os.end, os.event, os.source) == (TODAY, False, "survival_follow_up")
    assert AuditEvent.objects.filter(table_name="outcomes_subsequenttherapy").count() == 1


def test_last_known_alive_limits_both_sides(surv1, coordinator_a, subject):
    assert codes(lambda: follow_up(surv1, coordinator_a, last_known_alive=None)) == {
        "last_known_alive": ["required"]
    }
    assert codes(
        lambda: follow_up(surv1, coordinator_a, contact_date=TODAY - DAY, last_known_alive=TODAY)
    ) == {"last_known_alive": ["after_contact"]}
    consent = subject.consent_date
    assert codes(lambda: follow_up(surv1, coordinator_a, last_known_alive=consent - DAY)) == {
        "last_known_alive": ["before_consent"]
    }
    assert codes(lambda: follow_up(surv1, coordinator_a, contact_date=TODAY + DAY)) == {
        "contact_date": ["future_date"]
    }
    saved = follow_up(surv1, coordinator_a, last_known_alive=consent)
    assert saved.last_known_alive == consent


def test_status_dead_asks_for_the_death_record(surv1, coordinator_a):
    saved = follow_up(surv1, coordinator_a, status="dead", last_known_alive=None)
    assert [w.code for w in services.survival_follow_up_warnings(saved)] == ["death_not_recorded"]
    assert Visit.objects.get(pk=surv1.pk).actual_date == TODAY  # the contact is the visit
    die(surv1.subject, coordinator_a, death_date=TODAY)  # keeps the visit done and its form
    saved.refresh_from_db()
    assert services.survival_follow_up_warnings(saved) == []


def test_alive_after_a_recorded_death_is_refused(surv1, coordinator_a):
    follow_up(surv1, coordinator_a, status="dead", last_known_alive=None)
    die(surv1.subject, coordinator_a, death_date=TODAY)
    surv = fresh(surv1.subject).survival_follow_ups.get()
    assert codes(
        lambda: follow_up(surv1, coordinator_a, expected_version=surv.version, reason="x")
    ) == {"status": ["death_recorded"]}


def test_subsequent_therapy_line_and_start_both_sides(surv1, coordinator_a):
    def therapy(**kw):
        row = {"regimen": "Trabectedin", "start_date": TODAY, "line": 2} | kw
        return lambda: follow_up(surv1, coordinator_a, therapies=[row])

    assert codes(therapy(line=1)) == {"therapies-0-line": ["line_out_of_range"]}
    assert codes(therapy(line=11)) == {"therapies-0-line": ["line_out_of_range"]}
    assert codes(therapy(start_date=LAST_DOSE - DAY)) == {
        "therapies-0-start_date": ["before_last_dose"]
    }
    assert codes(therapy(start_date=TODAY + DAY)) == {"therapies-0-start_date": ["after_contact"]}
    assert codes(therapy(regimen=" ")) == {"therapies-0-regimen": ["required"]}
    saved = follow_up(
        surv1,
        coordinator_a,
        therapies=[
            {"regimen": "Trabectedin", "start_date": LAST_DOSE, "line": 10},
        ],
    )
    assert saved.therapies.get().line == 10


def test_new_progression_only_when_none_recorded(surv1, coordinator_a):
    saved = follow_up(surv1, coordinator_a, new_progression_date=TODAY)
    assert saved.new_progression_date == TODAY
    corrected = follow_up(
        surv1,
        coordinator_a,
        new_progression_date=TODAY - DAY,
        expected_version=saved.version,
        reason="date from the CT report",
    )
    assert corrected.new_progression_date == TODAY - DAY  # its own date is not "recorded"
    other = fresh(surv1.subject).visits.get(code="SURV2")
    assert codes(lambda: follow_up(other, coordinator_a, new_progression_date=TODAY)) == {
        "new_progression_date": ["progression_already_recorded"]
    }


def test_survival_follow_up_needs_a_survival_visit(subject, coordinator_a):
    screening = subject.visits.get(code="SCR")
    assert codes(lambda: follow_up(screening, coordinator_a)) == {"visit": ["not_a_survival_visit"]}


# --- withdrawal -----------------------------------------------------------------------------


def withdraw(subject, by, **overrides):
    data = {"withdrawal_date": TODAY, "scope": "all_follow_up", **overrides}
    return services.save_withdrawal(subject=subject, by=by, **data)


def test_withdrawal_from_follow_up_withdraws_the_subject(subject, coordinator_a):
    withdraw(subject, coordinator_a)
    assert (fresh(subject).status, fresh(subject).status_date) == ("withdrawn", TODAY)


def test_withdrawal_from_treatment_only_keeps_the_status(subject, coordinator_a):
    saved = withdraw(subject, coordinator_a, scope="treatment_only")
    assert fresh(subject).status == "on_treatment"
    corrected = withdraw(
        subject,
        coordinator_a,
        scope="treatment_only",
        withdrawal_date=TODAY - DAY,
        withdrawal=saved,
        expected_version=saved.version,
        reason="Date from the signed form",
    )
    assert corrected.withdrawal_date == TODAY - DAY
    assert codes(
        lambda: withdraw(
            subject,
            coordinator_a,
            withdrawal=corrected,
            expected_version=corrected.version,
            reason="wider",
        )
    ) == {"scope": ["ends_participation"]}
    assert Withdrawal.objects.count() == 1


def test_withdrawal_date_limits_both_sides(subject, coordinator_a):
    consent = subject.consent_date
    assert codes(lambda: withdraw(subject, coordinator_a, withdrawal_date=TODAY + DAY)) == {
        "withdrawal_date": ["future_date"]
    }
    early = {"scope": "treatment_only", "withdrawal_date": consent - DAY}
    assert codes(lambda: withdraw(subject, coordinator_a, **early)) == {
        "withdrawal_date": ["before_consent"]
    }
    saved = withdraw(subject, coordinator_a, scope="treatment_only", withdrawal_date=consent)
    assert saved.withdrawal_date == consent


# --- completed forms ------------------------------------------------------------------------


def test_completed_forms_names_the_visit_forms_stored(surv1, coordinator_a):
    subject = fresh(surv1.subject)
    eot_visit = subject.visits.get(code="EOT")
    surv2 = subject.visits.get(code="SURV2")
    follow_up(surv1, coordinator_a)
    assert selectors.completed_forms([eot_visit.pk, surv1.pk, surv2.pk]) == {
        (eot_visit.pk, "end_of_treatment"),
        (surv1.pk, "survival_follow_up"),
    }
    assert selectors.completed_forms([]) == set()
    assert EndOfTreatment.objects.count() == SurvivalFollowUp.objects.count() == 1
    assert Death.objects.count() == 0


def test_end_of_treatment_after_death_on_treatment_reads_doses_up_to_the_death(
    subject, coordinator_a
):
    die(subject, coordinator_a, death_date=D(2026, 2, 20))  # cycle 3 day 5
    eot = stop(fresh(subject), coordinator_a, decision_date=D(2026, 2, 20), stop_reason="death")
    assert eot.last_dose_date == D(2026, 2, 20)
    assert eot.visit is None  # no end-of-treatment visit is planned after death
    assert fresh(subject).status == "died"


@pytest.mark.parametrize("form", ["death", "follow_up", "withdrawal"])
def test_every_correction_needs_reason_and_version(form, subject, coordinator_a):
    if form == "death":
        first = die(subject, coordinator_a)

        def again(**kw):
            return die(subject, coordinator_a, autopsy="yes", **kw)

    elif form == "follow_up":
        stop(subject, coordinator_a)
        visit = fresh(subject).visits.get(code="SURV1")
        first = follow_up(visit, coordinator_a)

        def again(**kw):
            return follow_up(visit, coordinator_a, mode="medical_records", **kw)

    else:
        first = withdraw(subject, coordinator_a, scope="treatment_only")

        def again(**kw):
            return withdraw(
                subject, coordinator_a, scope="treatment_only", withdrawal=first,
                withdrawal_date=TODAY - DAY, **kw,
            )  # fmt: skip

    assert codes(lambda: again(expected_version=first.version)) == {"reason": ["required"]}
    with pytest.raises(EditConflict):
        again(expected_version=first.version + 1, reason="Source checked")
    saved = again(expected_version=first.version, reason="Source checked")
    assert saved.version == first.version + 1
    table = type(saved)._meta.db_table
    event = AuditEvent.objects.filter(table_name=table).latest("chain_seq")
    assert (event.action, event.reason) == ("UPDATE", "Source checked")
