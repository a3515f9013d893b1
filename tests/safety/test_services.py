"""Adverse events, causality, SAEs and lab panels on real records, values worked out by hand.

Clock frozen at 2026-03-02 10:00 in Guangzhou (02:00 UTC). Subject (tests/dosing/conftest.py):
man, consent 2025-12-20, C1D1 (first dose) 2026-01-05, on treatment; site A's investigator is
inv_a. Reference ranges of site A (eligibility.demo.RANGES, sex-neutral, from 2020-01-01): ANC
1.8-6.3 x10^9/L, ALT 7-40 U/L, albumin 40-55 g/L, Hb 115-175 g/L, TSH 0.27-4.2 mIU/L.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory

from alter_s006 import protocol as P
from audit.models import AuditEvent
from audit.versioning import EditConflict
from dosing import services as dosing
from dosing.models import DoseEvent
from eligibility.models import ReferenceRange
from outbox.models import Notification
from queries.models import Query
from safety import services
from safety.models import AdverseEvent, GradeChange, LabPanel, LabResult, SaeReport
from subjects.models import StatusChange
from subjects.services import change_status
from tests.factories import PASSWORD, investigator_of
from tests.safety.conftest import term

D = dt.date
UTC = dt.UTC
NOW_UTC = dt.datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _frozen(frozen_clock):
    """Every test here runs at 2026-03-02 10:00 in Guangzhou (tests/dosing/conftest.py)."""


def record(subject, by, **overrides):
    """Hypertension grade 2 from 2026-02-10, ongoing, not recovered (change what the test needs)."""
    data = {
        "term": term(overrides.pop("term", "Hypertension")),
        "grade": 2,
        "onset_date": D(2026, 2, 10),
        "ongoing": True,
        "outcome": "not_recovered",
        **overrides,
    }
    return services.record_ae(subject=subject, by=by, **data)


def stored():
    return (
        AdverseEvent.objects.count(),
        GradeChange.objects.count(),
        SaeReport.objects.count(),
        Notification.objects.count(),
        Query.objects.count(),
        StatusChange.objects.count(),
        LabPanel.objects.count(),
        LabResult.objects.count(),
        AuditEvent.objects.count(),
    )


def refused(call, *, failed_logins: int = 0) -> dict[str, list[str]]:
    """The error codes of a refused write by field, after checking it stored nothing (a wrong
    signature password is audited as a failed login, and only that)."""
    before = stored()
    logins = AuditEvent.objects.filter(action="LOGIN_FAILED").count()
    with pytest.raises(ValidationError) as caught:
        call()
    after = stored()
    assert after[:-1] == before[:-1], "a refused write stored something"
    assert after[-1] == before[-1] + failed_logins
    assert AuditEvent.objects.filter(action="LOGIN_FAILED").count() == logins + failed_logins
    error = caught.value
    if not hasattr(error, "error_dict"):
        return {"__all__": [e.code for e in error.error_list]}
    return {field: [e.code for e in found] for field, found in error.error_dict.items()}


def fatal(**overrides):
    return {
        "term": "Anemia",
        "grade": 5,
        "ongoing": False,
        "end_date": D(2026, 2, 20),
        "outcome": "fatal",
        "serious": True,
        "sae_death": True,
        **overrides,
    }


@pytest.fixture
def reduction(subject, coordinator_a):
    """12 -> 10 mg from C2 day 8 (2026-02-02) for toxicity."""
    return dosing.add_event(
        subject=subject,
        by=coordinator_a,
        kind="reduction",
        start=D(2026, 2, 2),
        dose_mg=10,
        reason="toxicity",
        detail="Hypertension grade 3",
    )


# --- recording ---------------------------------------------------------------------------------


def test_an_adverse_event_is_stored_with_its_grade_at_onset_and_linked_dose_reduction(
    subject, coordinator_a, reduction
):
    ae = record(
        subject,
        coordinator_a,
        grade=3,
        onset_date=D(2026, 2, 1),
        action_taken="reduced",
        dose_event=reduction,
        treatment_given="Amlodipine 5 mg daily",
    )
    ae.refresh_from_db()
    assert (ae.grade, ae.action_taken, ae.dose_event, ae.out_of_window) == (
        3,
        "reduced",
        reduction,
        False,
    )
    assert [(g.grade, g.from_date) for g in ae.grade_changes.all()] == [(3, D(2026, 2, 1))]
    assert ae.learned_on == NOW_UTC
    assert (ae.relationship, ae.causality_signed) == ("", False)
    audit = AuditEvent.objects.get(table_name="safety_adverseevent", action="INSERT")
    assert (audit.app_username, audit.reason) == (
        "coord_a",
        "Adverse event recorded: Hypertension grade 3",
    )
    assert not SaeReport.objects.exists()
    # the reduction for toxicity had a query (no AE linked) until this AE linked it
    assert not Query.objects.filter(status=Query.Status.OPEN).exists()
    assert Query.objects.get(edit_check="safety.toxicity_dose_event_without_ae").record_id == (
        reduction.pk
    )


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        (
            fatal(term="Neutrophil count decreased"),
            "grade",
            "grade_not_in_term",
        ),
        (
            {"ongoing": False, "end_date": D(2026, 2, 9), "outcome": "recovered"},
            "end_date",
            "end_before_onset",
        ),
        (
            {"onset_date": D(2025, 12, 19)},
            "onset_date",
            "before_consent",
        ),
        ({"onset_date": D(2026, 3, 3)}, "onset_date", "future_date"),
        (
            {"ongoing": False, "end_date": D(2026, 3, 3), "outcome": "recovered"},
            "end_date",
            "future_date",
        ),
        (
            {"serious": True},
            "serious",
            "serious_without_criterion",
        ),
        (
            {"sae_hospitalisation": True},
            "serious",
            "criterion_without_serious",
        ),
        (
            {"term": "Investigations - Other, specify", "verbatim": "  "},
            "verbatim",
            "verbatim_required",
        ),
        ({"ongoing": False}, "end_date", "end_date_or_ongoing"),
        (
            {"end_date": D(2026, 2, 20)},
            "end_date",
            "end_date_and_ongoing",
        ),
        (
            fatal(term="Hypertension", grade=3),
            "grade",
            "fatal_not_grade_5",
        ),
        (
            {"grade": 5},
            "outcome",
            "grade_5_not_fatal",
        ),
        (
            fatal(serious=False, sae_death=False),
            "sae_death",
            "fatal_without_death_criterion",
        ),
        (
            fatal(ongoing=True, end_date=None),
            "end_date",
            "fatal_needs_end_date",
        ),
        (
            {"outcome": "recovered"},
            "outcome",
            "recovered_but_ongoing",
        ),
        (
            {"learned_on": dt.datetime(2026, 2, 9, 23, 0, tzinfo=UTC)},  # 02-10 07:00 in GZ: ok
            None,
            None,
        ),
        (
            {"learned_on": dt.datetime(2026, 2, 9, 15, 0, tzinfo=UTC)},  # 02-09 23:00 in GZ
            "learned_on",
            "learned_before_onset",
        ),
        ({"grade": 7}, "grade", "invalid_grade"),
        ({"outcome": "cured"}, "outcome", "invalid_choice"),
    ],
)
def test_an_invalid_adverse_event_is_refused_with_the_field_and_nothing_stored(
    subject, coordinator_a, overrides, field, code
):
    if field is None:  # the control case: stored
        record(subject, coordinator_a, **overrides)
        return
    errors = refused(lambda: record(subject, coordinator_a, **overrides))
    assert errors[field] == [code]


def test_clinical_text_with_angle_brackets_is_stored_as_written(subject, coordinator_a):
    """Issue 10.9: "ANC < 0.5" is clinical wording, not markup (pages escape it)."""
    ae = record(
        subject,
        coordinator_a,
        verbatim="Neutropenia, ANC < 0.5",
        treatment_given="G-CSF; transfused while Platelets < 50 x10^9/L",
    )
    ae.refresh_from_db()
    assert ae.verbatim == "Neutropenia, ANC < 0.5"
    assert ae.treatment_given == "G-CSF; transfused while Platelets < 50 x10^9/L"


def test_the_linked_dose_modification_must_be_the_subjects_and_match_the_action(
    subject, subject_a, coordinator_a, reduction
):
    interrupted = refused(
        lambda: record(subject, coordinator_a, action_taken="interrupted", dose_event=reduction)
    )
    assert interrupted == {"dose_event": ["dose_event_kind_mismatch"]}
    nothing = refused(lambda: record(subject, coordinator_a, dose_event=reduction))
    assert nothing == {"dose_event": ["no_action_no_dose_event"]}
    theirs = DoseEvent.objects.create(
        subject=subject_a,
        kind="reduction",
        start=D(2026, 2, 2),
        dose_mg=10,
        reason="toxicity",
        recorded_by=coordinator_a,
    )
    other = refused(
        lambda: record(subject, coordinator_a, action_taken="reduced", dose_event=theirs)
    )
    assert other == {"dose_event": ["other_subject"]}


@pytest.mark.parametrize("who", ["monitor_a", "data_manager", "coordinator_b"])
def test_only_coordinators_and_investigators_of_the_site_record_adverse_events(subject, cast, who):
    before = stored()
    with pytest.raises(PermissionDenied):
        record(subject, cast[who])
    assert stored() == before


def test_an_investigator_records_too(subject, investigator_a):
    assert record(subject, investigator_a).recorded_by == investigator_a


# --- reporting window --------------------------------------------------------------------------


def test_an_onset_before_the_first_dose_is_stored_flagged_with_a_query_until_corrected(
    subject, coordinator_a
):
    ae = record(subject, coordinator_a, onset_date=D(2026, 1, 4))
    assert ae.out_of_window is True
    query = Query.objects.get(record_id=ae.pk, edit_check="safety.ae_outside_window")
    assert (query.status, query.field) == ("open", "onset_date")
    assert "2026-01-04 is outside the AE reporting window (first dose 2026-01-05" in query.text

    corrected = services.update_ae(
        ae=ae,
        by=coordinator_a,
        expected_version=ae.version,
        reason="Onset misread from the notes",
        changes={"onset_date": D(2026, 1, 5)},
    )
    assert corrected.out_of_window is False
    assert corrected.grade_changes.get().from_date == D(2026, 1, 5)
    query.refresh_from_db()
    assert query.status == "closed"


@pytest.mark.parametrize(
    ("onset", "out_of_window"),
    [(D(2026, 3, 1), False), (D(2026, 3, 2), True)],  # last dose 02-08: +21 = 03-01, +22 = 03-02
)
def test_after_the_last_dose_the_window_ends_21_days_later(
    subject, coordinator_a, onset, out_of_window
):
    subject = change_status(
        subject=subject,
        target="off_treatment",
        on_date=D(2026, 2, 10),
        last_dose=D(2026, 2, 8),
        reason="Progression",
        by=coordinator_a,
        expected_version=subject.version,
    )
    assert record(subject, coordinator_a, onset_date=onset).out_of_window is out_of_window


def test_a_subject_not_yet_dosed_has_no_window(subject_a, coordinator_a):
    ae = record(subject_a, coordinator_a, onset_date=D(2026, 2, 28))  # consent 2026-02-27
    assert ae.out_of_window is True
    assert services.reporting_window(subject_a) is None
    assert "before the first dose" in Query.objects.get(record_id=ae.pk).text


# --- grade history -----------------------------------------------------------------------------


def test_a_change_of_grade_is_kept_as_history_with_worst_grade_and_days_at_each(
    subject, coordinator_a
):
    ae = record(subject, coordinator_a, onset_date=D(2026, 2, 1))  # grade 2
    ae = services.update_ae(
        ae=ae,
        by=coordinator_a,
        expected_version=ae.version,
        reason="Worse at C3D1",
        changes={"grade": 3},
        grade_from=D(2026, 2, 10),
    )
    assert [(g.grade, g.from_date) for g in ae.grade_changes.all()] == [
        (2, D(2026, 2, 1)),
        (3, D(2026, 2, 10)),
    ]
    summary = services.grade_summary(ae)
    # grade 2: 02-01..02-09 = 9 days; grade 3: 02-10..03-02 (today) = 19 + 2 = 21 days
    assert (summary.worst, summary.current, dict(summary.days_at_grade)) == (3, 3, {2: 9, 3: 21})

    ae = services.update_ae(
        ae=ae,
        by=coordinator_a,
        expected_version=ae.version,
        reason="Resolved",
        changes={"ongoing": False, "end_date": D(2026, 2, 20), "outcome": "recovered"},
    )
    assert dict(services.grade_summary(ae).days_at_grade) == {2: 9, 3: 11}  # 02-10..02-20
    reasons = AuditEvent.objects.filter(table_name="safety_adverseevent", action="UPDATE")
    assert [e.reason for e in reasons] == ["Worse at C3D1", "Resolved"]


def test_a_new_grade_needs_the_date_it_changed_after_the_last_change(subject, coordinator_a):
    ae = record(subject, coordinator_a, onset_date=D(2026, 2, 1))

    def update(**kwargs):
        return services.update_ae(
            ae=ae,
            by=coordinator_a,
            expected_version=ae.version,
            reason="Grade",
            changes={"grade": 3},
            **kwargs,
        )

    assert refused(update) == {"grade_from": ["required"]}
    assert refused(lambda: update(grade_from=D(2026, 1, 31))) == {
        "grade_from": ["before_last_grade_change"]
    }
    assert refused(lambda: update(grade_from=D(2026, 3, 3))) == {
        "grade_from": ["grade_change_after_end"]
    }
    corrected = update(grade_from=D(2026, 2, 1))  # the date of the last step: a correction
    assert [(g.grade, g.from_date) for g in corrected.grade_changes.all()] == [(3, D(2026, 2, 1))]


def test_the_end_cannot_precede_the_last_grade_change_nor_the_onset_pass_the_next(
    subject, coordinator_a
):
    ae = record(subject, coordinator_a, onset_date=D(2026, 2, 1))
    ae = services.update_ae(
        ae=ae,
        by=coordinator_a,
        expected_version=ae.version,
        reason="Worse",
        changes={"grade": 3},
        grade_from=D(2026, 2, 10),
    )
    end_early = {"ongoing": False, "end_date": D(2026, 2, 5), "outcome": "recovered"}
    errors = refused(
        lambda: services.update_ae(
            ae=ae, by=coordinator_a, expected_version=ae.version, reason="End", changes=end_early
        )
    )
    assert errors == {"end_date": ["end_before_grade_change"]}
    errors = refused(
        lambda: services.update_ae(
            ae=ae,
            by=coordinator_a,
            expected_version=ae.version,
            reason="Onset",
            changes={"onset_date": D(2026, 2, 12)},
        )
    )
    assert errors == {"onset_date": ["onset_after_grade_change"]}


def test_an_update_needs_a_reason_the_version_read_and_leaves_causality_to_investigators(
    subject, coordinator_a
):
    ae = record(subject, coordinator_a)
    assert refused(
        lambda: services.update_ae(
            ae=ae, by=coordinator_a, expected_version=1, reason=" ", changes={"verbatim": "x"}
        )
    ) == {"reason": ["required"]}
    assert refused(
        lambda: services.update_ae(
            ae=ae,
            by=coordinator_a,
            expected_version=1,
            reason="Assessed",
            changes={"relationship": "possible"},
        )
    ) == {"relationship": ["signed_by_investigator"]}
    with pytest.raises(EditConflict):
        services.update_ae(
            ae=ae, by=coordinator_a, expected_version=2, reason="Typo", changes={"verbatim": "x"}
        )


# --- death -------------------------------------------------------------------------------------


def test_a_fatal_adverse_event_records_the_death_once(subject, coordinator_a):
    record(subject, coordinator_a, **fatal())
    subject.refresh_from_db()
    assert (subject.status, subject.status_date) == ("died", D(2026, 2, 20))
    death = StatusChange.objects.get(subject=subject, to_status="died")
    assert (death.on_date, death.reason) == (
        D(2026, 2, 20),
        "Fatal adverse event: Anemia (CTCAE 4.03 grade 5)",
    )
    # a second fatal event of the same death: no second death record
    record(subject, coordinator_a, **fatal(term="Sepsis", onset_date=D(2026, 2, 15)))
    assert StatusChange.objects.filter(subject=subject, to_status="died").count() == 1
    # a death on another date is refused
    errors = refused(lambda: record(subject, coordinator_a, **fatal(end_date=D(2026, 2, 21))))
    assert errors == {"end_date": ["not_the_death_date"]}


def test_after_the_death_no_event_starts_or_ends_later(subject, coordinator_a):
    record(subject, coordinator_a, **fatal())  # died 2026-02-20
    subject.refresh_from_db()
    assert refused(lambda: record(subject, coordinator_a, onset_date=D(2026, 2, 21))) == {
        "onset_date": ["after_death"]
    }
    late_end = {"ongoing": False, "end_date": D(2026, 2, 22), "outcome": "recovered"}
    assert refused(lambda: record(subject, coordinator_a, **late_end)) == {
        "end_date": ["after_death"]
    }


def test_an_update_to_fatal_records_the_death_and_cannot_be_undone_by_the_event(
    subject, coordinator_a
):
    ae = record(subject, coordinator_a, grade=3)
    ae = services.update_ae(
        ae=ae,
        by=coordinator_a,
        expected_version=ae.version,
        reason="Died of hypertensive crisis",
        changes={
            "grade": 5,
            "ongoing": False,
            "end_date": D(2026, 2, 25),
            "outcome": "fatal",
            "serious": True,
            "sae_death": True,
        },
        grade_from=D(2026, 2, 25),
    )
    subject.refresh_from_db()
    assert (subject.status, subject.status_date) == ("died", D(2026, 2, 25))
    assert ae.sae_reports.get().kind == "initial"
    errors = refused(
        lambda: services.update_ae(
            ae=ae,
            by=coordinator_a,
            expected_version=ae.version,
            reason="Wrong",
            changes={
                "grade": 4,
                "outcome": "not_recovered",
                "sae_death": False,
                "sae_life_threatening": True,
            },
            grade_from=D(2026, 2, 25),
        )
    )
    assert errors == {"outcome": ["death_recorded"]}


# --- SAEs ----------------------------------------------------------------------------------------


def serious(**overrides):
    return {"serious": True, "sae_hospitalisation": True, **overrides}


def test_a_serious_event_opens_the_initial_report_due_in_24_hours_and_notifies(
    subject, coordinator_a, investigator_a
):
    learned = dt.datetime(2026, 3, 2, 0, 0, tzinfo=UTC)  # 08:00 in Guangzhou
    ae = record(subject, coordinator_a, **serious(learned_on=learned))
    report = ae.sae_reports.get()
    assert (report.kind, report.sequence, report.aware_at) == ("initial", 0, learned)
    assert report.due_at == dt.datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    assert report.overdue is False and report.label == "Initial report"
    notices = Notification.objects.order_by("id")
    assert [(n.recipient, n.email, n.role) for n in notices] == [
        (investigator_a, "", "investigator"),
        (None, P.SPONSOR_SAFETY_EMAIL, "sponsor_safety"),
    ]
    assert {n.kind for n in notices} == {"sae_initial"}
    assert {n.related_subject for n in notices} == {subject}
    assert notices[0].subject_line == (
        f"ALTER-S006 SAE {subject}: Hypertension, grade 2; initial report due 2026-03-03 00:00 UTC"
    )
    assert "Seriousness: requires or prolongs hospitalisation" in notices[0].body
    assert all(n.sent_at is None for n in notices)

    again = services.start_sae_workflow(ae, by=coordinator_a)
    assert again == report and Notification.objects.count() == 2


def test_an_event_becoming_serious_starts_the_workflow_from_when_the_site_learned(
    subject, coordinator_a
):
    ae = record(subject, coordinator_a)
    aware = dt.datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    ae = services.update_ae(
        ae=ae,
        by=coordinator_a,
        expected_version=ae.version,
        reason="Admitted to hospital",
        changes=serious(),
        sae_aware_at=aware,
    )
    assert ae.sae_reports.get().due_at == dt.datetime(2026, 3, 3, 1, 0, tzinfo=UTC)


def test_the_sae_listing_is_scoped_overdue_first(
    subject, subject_b, coordinator_a, coordinator_b, data_manager
):
    late = record(
        subject,
        coordinator_a,
        **serious(onset_date=D(2026, 2, 25), learned_on=dt.datetime(2026, 2, 27, 12, tzinfo=UTC)),
    )
    fresh = record(subject, coordinator_a, **serious(term="Proteinuria"))
    other = record(subject_b, coordinator_b, **serious(onset_date=D(2026, 2, 28)))
    late_report, fresh_report = late.sae_reports.get(), fresh.sae_reports.get()
    assert late_report.overdue and not fresh_report.overdue
    assert list(services.sae_listing(coordinator_a)) == [late_report, fresh_report]
    assert list(services.sae_listing(coordinator_b)) == [other.sae_reports.get()]
    assert list(SaeReport.objects.overdue()) == [late_report]
    everyone = list(services.sae_listing(data_manager))
    assert everyone[0] == late_report and len(everyone) == 3

    submit(late_report, investigator_of(subject.site), narrative="Admitted ...")
    assert list(services.sae_listing(coordinator_a)) == [fresh_report, late_report]


def submit(report, by, narrative="Admitted for BP control.", password=PASSWORD, **kwargs):
    """The investigator's e-signed submission of ``report`` as it stands now."""
    report.refresh_from_db()
    return services.submit_sae_report(
        report=report,
        by=by,
        narrative=narrative,
        password=password,
        expected_hash=kwargs.pop("expected_hash", services.report_hash(report)),
        request=RequestFactory().post("/"),
        **kwargs,
    )


def test_a_report_is_submitted_once_with_its_narrative_then_follow_ups(
    subject, coordinator_a, investigator_a, monitor_a
):
    ae = record(subject, coordinator_a, **serious())
    report = ae.sae_reports.get()
    assert refused(lambda: submit(report, investigator_a, narrative=" ")) == {
        "narrative": ["required"]
    }
    with pytest.raises(PermissionDenied):
        submit(report, monitor_a)
    assert refused(lambda: services.add_follow_up(ae=ae, by=coordinator_a)) == {
        "__all__": ["earlier_report_pending"]
    }

    done = submit(report, investigator_a)
    assert (done.submitted_at, done.submitted_by, done.overdue) == (NOW_UTC, investigator_a, False)
    errors = refused(lambda: submit(done, investigator_a, narrative="again"))
    assert errors == {"__all__": ["already_submitted"]}

    follow_up = services.add_follow_up(ae=ae, by=coordinator_a)
    assert (follow_up.kind, follow_up.sequence, follow_up.label) == ("follow_up", 1, "Follow-up 1")
    assert follow_up.due_at == NOW_UTC + dt.timedelta(hours=24)


def test_the_coordinator_prepares_an_sae_report_but_only_the_investigator_submits_it(
    subject, coordinator_a, investigator_a
):
    """Issue 11 C14: before, the coordinator could mark the report submitted unsigned."""
    ae = record(subject, coordinator_a, **serious())
    report = ae.sae_reports.get()
    drafted = services.save_sae_draft(
        report=report, by=coordinator_a, narrative="Admitted on day 3.", expected_version=1
    )
    assert (drafted.narrative, drafted.submitted_at, drafted.version) == (
        "Admitted on day 3.",
        None,
        2,
    )
    with pytest.raises(EditConflict):
        services.save_sae_draft(report=report, by=coordinator_a, narrative="x", expected_version=1)
    before = stored()
    with pytest.raises(PermissionDenied):  # the coordinator cannot submit, even with a password
        submit(drafted, coordinator_a)
    assert stored() == before and SaeReport.objects.get().submitted_at is None

    assert refused(lambda: submit(drafted, investigator_a, password="wrong"), failed_logins=1) == {
        "password": ["wrong_password"]
    }
    shown = services.report_hash(drafted)
    services.update_ae(
        ae=ae,
        by=coordinator_a,
        expected_version=AdverseEvent.objects.get().version,
        reason="Verbatim",
        changes={"verbatim": "Hypertensive urgency"},
    )
    assert refused(lambda: submit(drafted, investigator_a, expected_hash=shown)) == {
        "data_hash": ["changed_since_shown"]
    }
    assert refused(lambda: submit(drafted, investigator_a, expected_hash="")) == {
        "data_hash": ["required"]
    }

    done = submit(drafted, investigator_a, narrative="Admitted on day 3; discharged day 6.")
    assert (done.signed_by, done.signed_printed_name, done.signed_at) == (
        investigator_a,
        "Test Inv_A",
        NOW_UTC,
    )
    assert done.signed_hash == services.report_hash(done)  # bound to what was submitted
    assert done.narrative == "Admitted on day 3; discharged day 6."
    audit = AuditEvent.objects.filter(table_name="safety_saereport").last()
    assert (audit.app_username, audit.reason) == (
        "inv_a",
        "SAE initial report submitted: investigator e-signature",
    )
    with pytest.raises(ValidationError) as caught:
        services.save_sae_draft(report=done, by=coordinator_a, narrative="later")
    assert caught.value.error_list[0].code == "already_submitted"


def test_a_wrong_sae_signing_password_counts_towards_the_lockout(
    subject, coordinator_a, investigator_a, settings
):
    ae = record(subject, coordinator_a, **serious())
    report = ae.sae_reports.get()
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        with pytest.raises(ValidationError):
            submit(report, investigator_a, password="wrong")
    # even the right password is refused now (the attempt is logged as a failed login too)
    locked = refused(lambda: submit(report, investigator_a), failed_logins=1)
    assert locked == {"password": ["account_locked"]}
    assert SaeReport.objects.get().submitted_at is None


def test_a_non_serious_event_has_no_sae_reports(subject, coordinator_a):
    ae = record(subject, coordinator_a)
    assert refused(lambda: services.add_follow_up(ae=ae, by=coordinator_a)) == {
        "__all__": ["not_serious"]
    }


# --- causality -----------------------------------------------------------------------------------


def sign(ae, by, password=PASSWORD, relationship="probable", **kwargs):
    return services.sign_causality(
        ae=ae,
        by=by,
        relationship=relationship,
        password=password,
        request=RequestFactory().post("/"),
        **kwargs,
    )


def test_only_an_investigator_signs_causality_with_the_password(
    subject, coordinator_a, investigator_a
):
    ae = record(subject, coordinator_a)
    with pytest.raises(PermissionDenied):
        sign(ae, coordinator_a)
    assert refused(lambda: sign(ae, investigator_a, password="wrong"), failed_logins=1) == {
        "password": ["wrong_password"]
    }
    assert refused(lambda: sign(ae, investigator_a, relationship="likely")) == {
        "relationship": ["required"]
    }
    with pytest.raises(EditConflict):
        sign(ae, investigator_a, expected_version=ae.version + 1)

    signed = sign(ae, investigator_a, expected_version=ae.version)
    assert (signed.relationship, signed.causality_signed_by, signed.causality_printed_name) == (
        "probable",
        investigator_a,
        "Test Inv_A",
    )
    assert signed.causality_signed_at == NOW_UTC
    audit = AuditEvent.objects.filter(table_name="safety_adverseevent").last()
    assert (audit.app_username, audit.reason) == ("inv_a", "Causality e-signature: probable")


def test_a_change_of_term_voids_the_causality_signature(subject, coordinator_a, investigator_a):
    signed = sign(record(subject, coordinator_a), investigator_a)
    changed = services.update_ae(
        ae=signed,
        by=coordinator_a,
        expected_version=signed.version,
        reason="Coded to the wrong term",
        changes={"term": term("Hypotension")},
    )
    assert (changed.relationship, changed.causality_signed_by, changed.causality_signed_at) == (
        "",
        None,
        None,
    )


# --- lab panels ----------------------------------------------------------------------------------


def panel(subject, by, values=None, **kwargs):
    return services.record_lab_panel(
        subject=subject,
        by=by,
        sample_date=kwargs.pop("sample_date", D(2026, 2, 16)),
        values=values or {},
        **kwargs,
    )


def test_anc_0_8_is_grade_3_with_the_ctcae_wording_and_is_offered_as_an_ae(subject, coordinator_a):
    cycle3 = subject.visits.get(code="C3D1")
    stored_panel = panel(subject, coordinator_a, {"anc": ("0.8", "10^9/L")}, visit=cycle3)
    result = stored_panel.results.get()
    assert (result.grade, result.term) == (3, "Neutrophil count decreased")
    assert result.definition == "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L"
    assert (result.value, result.lln, result.uln) == (
        Decimal("0.8"),
        Decimal("1.8"),
        Decimal("6.3"),
    )
    assert result.reference_range == ReferenceRange.objects.get(site=subject.site, analyte="anc")
    [offer] = services.offered_aes(stored_panel)
    assert offer.result == result and offer.term == term("Neutrophil count decreased")
    assert offer.prefill == {
        "term": offer.term.pk,
        "grade": 3,
        "onset_date": D(2026, 2, 16),
        "verbatim": "Neutrophil count decreased (ANC 0.8 10^9/L)",
        "lab_result": result.pk,
    }
    query = Query.objects.get(edit_check="safety.lab_grade_without_ae")
    assert (query.record_type, query.record_id, query.status) == (
        "safety.labresult",
        result.pk,
        "open",
    )
    assert query.text.startswith("ANC 0.8 10^9/L on 2026-02-16 is CTCAE 4.03 grade 3")

    ae = services.record_ae(
        subject=subject,
        by=coordinator_a,
        **{k: v for k, v in offer.prefill.items() if k not in ("term", "lab_result")},
        term=offer.term,
        lab_result=result,
        ongoing=True,
        outcome="recovering",
    )
    result.refresh_from_db()
    query.refresh_from_db()
    assert (result.ae, query.status) == (ae, "closed")
    assert services.offered_aes(stored_panel) == []


def test_an_ae_of_the_same_term_covering_the_sample_date_matches_one_that_ended_does_not(
    subject, coordinator_a
):
    ended = {"ongoing": False, "end_date": D(2026, 2, 15), "outcome": "recovered"}
    record(subject, coordinator_a, term="Neutrophil count decreased", **ended)
    stored_panel = panel(subject, coordinator_a, {"anc": ("0.8", "10^9/L")})
    assert len(services.offered_aes(stored_panel)) == 1
    record(
        subject,
        coordinator_a,
        term="Neutrophil count decreased",
        grade=3,
        onset_date=D(2026, 2, 16),
    )
    assert services.offered_aes(stored_panel) == []
    assert Query.objects.get(edit_check="safety.lab_grade_without_ae").status == "closed"


def test_every_kind_of_value_is_graded_and_tsh_is_not(subject, coordinator_a):
    stored_panel = panel(
        subject,
        coordinator_a,
        {
            "alt": ("130", "U/L"),  # 3.25 x ULN 40: grade 2
            "albumin": ("2.5", "g/dL"),  # range 40-55 g/L = 4.0-5.5 g/dL: "<3 - 2 g/dL" grade 2
            "tsh": ("8.5", "mIU/L"),
            "urine_protein_dipstick": ("2+", "dipstick"),
            "qtc": ("470", "ms"),  # 450 - 480: grade 1
        },
        systolic=165,
        diastolic=95,
    )
    got = {r.analyte: r for r in stored_panel.results.all()}
    assert {a: r.grade for a, r in got.items()} == {
        "alt": 2,
        "albumin": 2,
        "tsh": None,
        "urine_protein_dipstick": 2,
        "qtc": 1,
        "blood_pressure": 3,
    }
    assert (got["albumin"].lln, got["albumin"].uln) == (Decimal("4.0"), Decimal("5.5"))
    assert got["tsh"].term == "" and "clinical judgement" in got["tsh"].note
    assert (got["tsh"].lln, got["tsh"].uln) == (Decimal("0.27"), Decimal("4.2"))  # shown
    assert (got["urine_protein_dipstick"].reading, got["urine_protein_dipstick"].value) == (
        "2+",
        None,
    )
    bp = got["blood_pressure"]
    assert (bp.term, bp.display_value, bp.unit) == ("Hypertension", "165/95", "mm Hg")
    assert bp.definition.startswith("Stage 2 hypertension (systolic BP >=160 mm Hg")
    offered = {o.result.analyte for o in services.offered_aes(stored_panel)}
    assert offered == {"alt", "albumin", "urine_protein_dipstick", "blood_pressure"}


@pytest.mark.parametrize(
    ("values", "kwargs", "errors"),
    [
        (
            {"anc": ("0.8", "mg/dL")},
            {},
            {"anc-unit": ["unit_not_allowed"]},
        ),
        (
            {"hb": ("5.0", "mmol/L")},
            {},
            {"hb-unit": ["range_in_other_unit"]},
        ),
        (
            {"anc": ("0.8", "10^9/L"), "plt": ("many", "10^9/L")},
            {"systolic": 150},
            {"plt-value": ["not_a_number"], "diastolic": ["required"]},
        ),
        (
            {"anc": ("0.8123", "10^9/L")},
            {},
            {"anc-value": ["max_decimal_places"]},
        ),
        (
            {"ferritin": ("300", "ug/L")},
            {},
            {"ferritin-value": ["unknown_analyte"]},
        ),
        ({}, {}, {"__all__": ["no_values"]}),
        (
            {"anc": ("0.8", "10^9/L")},
            {"sample_date": D(2026, 3, 3)},
            {"sample_date": ["future_date"]},
        ),
        (
            {"anc": ("0.8", "10^9/L")},
            {"sample_date": D(2025, 12, 19)},
            {"sample_date": ["before_consent"]},
        ),
        (
            {"qtc": ("470", "ms")},
            {"systolic": 80, "diastolic": 120},
            {"diastolic": ["diastolic_not_below_systolic"]},
        ),
    ],
)
def test_a_panel_with_a_value_that_cannot_be_graded_is_refused_whole(
    subject, coordinator_a, values, kwargs, errors
):
    assert refused(lambda: panel(subject, coordinator_a, values, **kwargs)) == errors


def test_a_value_needing_a_range_the_site_lacks_is_refused(subject, coordinator_a):
    ReferenceRange.objects.filter(site=subject.site, analyte="anc").delete()
    assert refused(lambda: panel(subject, coordinator_a, {"anc": ("0.8", "10^9/L")})) == {
        "anc-value": ["no_reference_range"]
    }


def test_a_panel_visit_must_be_a_cycle_visit_of_the_subject(subject, coordinator_a, monitor_a):
    screening = subject.visits.get(code="SCR")
    assert refused(
        lambda: panel(subject, coordinator_a, {"anc": ("2.0", "10^9/L")}, visit=screening)
    ) == {"visit": ["not_a_cycle_visit"]}
    with pytest.raises(PermissionDenied):
        panel(subject, monitor_a, {"anc": ("2.0", "10^9/L")})


@pytest.mark.parametrize("onset", [D(2026, 3, 3), D(2025, 12, 19)], ids=["future", "pre-consent"])
def test_a_bad_onset_of_a_non_serious_event_is_one_error_by_the_onset(
    subject, coordinator_a, onset
):
    """Issue 11 C.6: a future onset also showed an SAE-clock error on an empty field."""
    errors = refused(lambda: record(subject, coordinator_a, onset_date=onset))

    assert list(errors) == ["onset_date"]
