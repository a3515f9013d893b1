"""logs.services: each log form stored and audited, refused on every limit (nothing stored),
corrected only with a reason and the version read; prohibited medications flagged with a
query; deviations raised by the system once each."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from audit.versioning import EditConflict
from dosing import services as dosing
from logs import services
from logs.models import ConMed, Deviation, MedicalHistory
from queries.models import Query
from safety.models import CtcaeTerm
from subjects import services as subject_services
from tests.logs.conftest import con_med, history

D = dt.date
pytestmark = pytest.mark.django_db


def codes(exc):
    return {k: [e.code for e in v] for k, v in exc.error_dict.items()}


def prohibited_queries(cm):
    return Query.objects.filter(
        record_type="logs.conmed", record_id=cm.pk, edit_check=services.PROHIBITED_CHECK
    )


# --- concomitant medications ---------------------------------------------------------------------


def test_a_con_med_is_stored_and_audited(treated, coordinator_a):
    cm = con_med(treated, coordinator_a)
    assert (cm.name, cm.dose, cm.flag_class, cm.version) == ("Paracetamol", Decimal("500"), "", 1)
    audit = AuditEvent.objects.get(table_name="logs_conmed", action="INSERT")
    assert (audit.app_username, audit.reason) == (
        "coord_a",
        "Concomitant medication recorded: Paracetamol",
    )
    assert not prohibited_queries(cm).exists()
    assert not treated.deviations.exists()


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"start_date": D(1899, 12, 31)}, "start_date", "date_implausible"),
        ({"start_date": D(2026, 3, 3)}, "start_date", "future_date"),
        ({"ongoing": False, "stop_date": D(2026, 3, 3)}, "stop_date", "future_date"),
        ({"ongoing": False, "stop_date": D(2026, 1, 9)}, "stop_date", "stop_before_start"),
        ({"ongoing": False}, "stop_date", "stop_or_ongoing"),
        ({"stop_date": D(2026, 2, 1)}, "stop_date", "stop_and_ongoing"),
        ({"dose": Decimal("0")}, "dose", "dose_implausible"),
        ({"dose": Decimal("100000.0001")}, "dose", "dose_implausible"),
        ({"dose": Decimal("0.00001")}, "dose", "max_decimal_places"),  # the column keeps 4
        ({"unit": "spoonful"}, "unit", "invalid_choice"),
        ({"route": "ear"}, "route", "invalid_choice"),
        ({"frequency": "hourly"}, "frequency", "invalid_choice"),
        ({"name": "  "}, "name", "required"),
    ],
)
def test_a_con_med_outside_a_limit_is_refused_and_nothing_stored(
    treated, coordinator_a, changes, field, code
):
    before = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        con_med(treated, coordinator_a, **changes)
    assert code in codes(caught.value)[field]
    assert not ConMed.objects.exists() and AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    "changes",
    [
        {"start_date": D(1900, 1, 1)},  # the earliest plausible date
        {"start_date": D(2026, 3, 2)},  # the site's today
        {"ongoing": False, "stop_date": D(2026, 3, 2)},
        {"ongoing": False, "stop_date": D(2026, 1, 10)},  # stops the day it starts
        {"dose": Decimal("0.0001")},
        {"dose": Decimal("100000")},
    ],
)
def test_a_con_med_at_a_limit_is_stored(treated, coordinator_a, changes):
    assert con_med(treated, coordinator_a, **changes).pk


def test_the_indication_links_to_the_subjects_own_records(
    treated, coordinator_a, subject_b, coordinator_b
):
    own = history(treated, coordinator_a)
    cm = con_med(treated, coordinator_a, indication_history=own)
    assert cm.indication_history == own
    other = history(subject_b, coordinator_b)
    with pytest.raises(ValidationError) as caught:
        con_med(treated, coordinator_a, indication_history=other)
    assert codes(caught.value) == {"indication_history": ["other_subject"]}


def test_a_monitor_and_a_data_manager_cannot_record(treated, monitor_a, data_manager):
    for user in (monitor_a, data_manager):
        with pytest.raises(PermissionDenied):
            con_med(treated, user)


def test_a_prohibited_con_med_is_stored_flagged_with_a_query_and_a_deviation(
    treated, coordinator_a
):
    cm = con_med(treated, coordinator_a, name="Sorafenib 200 mg", indication="")
    assert (cm.flag_class, cm.flag_name) == ("vegfr_tki", "sorafenib")
    query = prohibited_queries(cm).get()
    assert query.status == "open" and "VEGFR" in query.text
    dev = treated.deviations.get()
    assert (dev.category, dev.status, dev.auto_key) == (
        "prohibited_medication",
        "raised",
        f"prohibited_medication:conmed:{cm.pk}",
    )
    assert dev.occurred_on == D(2026, 1, 10)


def test_an_anticoagulant_gets_a_query_but_no_deviation(treated, coordinator_a):
    cm = con_med(treated, coordinator_a, name="华法林", dose=Decimal("3"))
    assert cm.flag_class == "anticoagulant"
    assert "therapeutic" in prohibited_queries(cm).get().text
    assert not treated.deviations.exists()


def test_a_prohibited_con_med_stopped_before_c1d1_is_flagged_but_no_deviation(
    treated, coordinator_a
):
    cm = con_med(
        treated,
        coordinator_a,
        name="Rifampicin",
        start_date=D(2025, 11, 1),
        ongoing=False,
        stop_date=D(2026, 1, 4),  # C1D1 2026-01-05
    )
    assert cm.flag_class == "cyp3a4_inducer" and prohibited_queries(cm).exists()
    assert not treated.deviations.exists()


def test_correcting_the_name_closes_the_query_and_the_deviation(treated, coordinator_a):
    cm = con_med(treated, coordinator_a, name="ketoconazole")
    fixed = services.correct_con_med(
        con_med=cm,
        by=coordinator_a,
        expected_version=1,
        reason="Transcription: fluconazole on the chart",
        changes={"name": "Fluconazole"},
    )
    assert (fixed.flag_class, fixed.version) == ("", 2)
    assert prohibited_queries(cm).get().status == "closed"
    dev = treated.deviations.get()
    assert dev.status == "dismissed" and dev.decided_by is None
    audit = AuditEvent.objects.filter(table_name="logs_conmed", action="UPDATE").get()
    assert audit.reason == "Transcription: fluconazole on the chart"


def test_a_con_med_correction_needs_a_reason_and_the_version(treated, coordinator_a):
    cm = con_med(treated, coordinator_a)
    with pytest.raises(ValidationError) as caught:
        services.correct_con_med(
            con_med=cm, by=coordinator_a, expected_version=1, reason=" ", changes={"dose": 1}
        )
    assert codes(caught.value) == {"reason": ["required"]}
    with pytest.raises(EditConflict):
        services.correct_con_med(
            con_med=cm,
            by=coordinator_a,
            expected_version=0,
            reason="Dose",
            changes={"dose": Decimal("1000")},
        )
    with pytest.raises(ValidationError) as caught:
        services.correct_con_med(
            con_med=cm,
            by=coordinator_a,
            expected_version=1,
            reason="Dose",
            changes={"dose": Decimal("0")},
        )
    assert codes(caught.value) == {"dose": ["dose_implausible"]}
    with pytest.raises(ValidationError) as caught:
        services.correct_con_med(
            con_med=cm, by=coordinator_a, expected_version=1, reason="x", changes={"subject": 1}
        )
    assert caught.value.code == "read_only_fields"
    cm.refresh_from_db()
    assert (cm.version, cm.dose) == (1, Decimal("500"))


# --- medical history ------------------------------------------------------------------------------


def test_a_history_item_is_stored_and_audited(treated, coordinator_a):
    term = CtcaeTerm.objects.get(term="Hypertension")
    mh = history(treated, coordinator_a, term=term, condition="", baseline_grade=2)
    assert (mh.display_condition, mh.baseline_grade) == ("Hypertension", 2)
    audit = AuditEvent.objects.get(table_name="logs_medicalhistory", action="INSERT")
    assert audit.reason == "Medical history recorded: Hypertension"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"condition": ""}, "condition", "term_or_condition"),
        ({"start_date": D(1899, 12, 31)}, "start_date", "date_implausible"),
        ({"start_date": D(2026, 3, 3)}, "start_date", "future_date"),
        ({"ongoing": False}, "end_date", "stop_or_ongoing"),
        ({"ongoing": False, "end_date": D(2020, 4, 30)}, "end_date", "stop_before_start"),
        ({"ongoing": False, "end_date": D(2026, 3, 3)}, "end_date", "future_date"),
        ({"baseline_grade": 0}, "baseline_grade", "invalid_grade"),
        ({"baseline_grade": 5}, "baseline_grade", "invalid_grade"),
    ],
)
def test_a_history_item_outside_a_limit_is_refused(treated, coordinator_a, changes, field, code):
    with pytest.raises(ValidationError) as caught:
        history(treated, coordinator_a, **changes)
    assert code in codes(caught.value)[field]
    assert not MedicalHistory.objects.exists()


@pytest.mark.parametrize(
    "changes",
    [
        {"start_date": D(1900, 1, 1)},
        {"start_date": D(2026, 3, 2)},
        {"ongoing": False, "end_date": D(2020, 5, 1)},
        {"baseline_grade": 1},
        {"baseline_grade": 4},
    ],
)
def test_a_history_item_at_a_limit_is_stored(treated, coordinator_a, changes):
    assert history(treated, coordinator_a, **changes).pk


def test_a_history_correction_needs_a_reason_and_the_version(treated, coordinator_a):
    mh = history(treated, coordinator_a)
    with pytest.raises(ValidationError) as caught:
        services.correct_history(
            history=mh,
            by=coordinator_a,
            expected_version=1,
            reason="",
            changes={"baseline_grade": 2},
        )
    assert codes(caught.value) == {"reason": ["required"]}
    with pytest.raises(EditConflict):
        services.correct_history(
            history=mh,
            by=coordinator_a,
            expected_version=3,
            reason="G",
            changes={"baseline_grade": 2},
        )
    fixed = services.correct_history(
        history=mh,
        by=coordinator_a,
        expected_version=1,
        reason="Graded",
        changes={"baseline_grade": 2},
    )
    assert (fixed.baseline_grade, fixed.version) == (2, 2)
    audit = AuditEvent.objects.get(table_name="logs_medicalhistory", action="UPDATE")
    assert audit.reason == "Graded"


def test_baseline_match_names_the_ongoing_condition_at_the_same_or_higher_grade(
    treated, coordinator_a
):
    from logs.selectors import baseline_match

    term = CtcaeTerm.objects.get(term="Hypertension")
    mh = history(treated, coordinator_a, term=term, condition="", baseline_grade=2)
    assert baseline_match(treated, term, 2) == mh
    assert baseline_match(treated, "hypertension", 1) == mh
    assert baseline_match(treated, term, 3) is None  # worse than at baseline
    assert baseline_match(treated, CtcaeTerm.objects.get(term="Fatigue"), 1) is None
    services.correct_history(
        history=mh,
        by=coordinator_a,
        expected_version=1,
        reason="Resolved",
        changes={"ongoing": False, "end_date": D(2025, 1, 1)},
    )
    assert baseline_match(treated, term, 1) is None


# --- protocol deviations --------------------------------------------------------------------------


def deviation(subject, by, **overrides):
    data = {
        "category": "assessment_missed",
        "description": "Urinalysis not done at C2D1.",
        "occurred_on": D(2026, 1, 26),
    }
    return services.record_deviation(subject=subject, by=by, **(data | overrides))


def test_a_deviation_reported_by_the_site_is_stored_confirmed_and_audited(treated, coordinator_a):
    dev = deviation(treated, coordinator_a)
    assert (dev.status, dev.site_id, dev.auto_key) == ("confirmed", treated.site_id, "")
    audit = AuditEvent.objects.get(table_name="logs_deviation", action="INSERT")
    assert audit.reason == "Protocol deviation reported: assessment_missed"


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"occurred_on": D(1899, 12, 31)}, "occurred_on", "date_implausible"),
        ({"occurred_on": D(2026, 3, 3)}, "occurred_on", "future_date"),
        ({"category": "weather"}, "category", "invalid_choice"),
        ({"description": " "}, "description", "required"),
    ],
)
def test_a_deviation_outside_a_limit_is_refused(treated, coordinator_a, changes, field, code):
    with pytest.raises(ValidationError) as caught:
        deviation(treated, coordinator_a, **changes)
    assert code in codes(caught.value)[field]
    assert not Deviation.objects.exists()


@pytest.mark.parametrize("day", [D(1900, 1, 1), D(2026, 3, 2)])
def test_a_deviation_at_a_date_limit_is_stored(treated, coordinator_a, day):
    assert deviation(treated, coordinator_a, occurred_on=day).pk


def test_a_deviation_correction_needs_a_reason_and_the_version(treated, coordinator_a):
    dev = deviation(treated, coordinator_a)
    with pytest.raises(ValidationError) as caught:
        services.correct_deviation(
            deviation=dev,
            by=coordinator_a,
            expected_version=1,
            reason="",
            changes={"category": "dosing"},
        )
    assert codes(caught.value) == {"reason": ["required"]}
    with pytest.raises(EditConflict):
        services.correct_deviation(
            deviation=dev,
            by=coordinator_a,
            expected_version=2,
            reason="C",
            changes={"category": "dosing"},
        )
    fixed = services.correct_deviation(
        deviation=dev,
        by=coordinator_a,
        expected_version=1,
        reason="Category",
        changes={"category": "dosing"},
    )
    assert (fixed.category, fixed.version) == ("dosing", 2)


def late_c2d1(subject, by):
    """C2D1 planned 2026-01-26 (window 01-23 to 01-29), done 2026-02-02: 4 days late."""
    visit = subject.visits.get(code="C2D1")
    subject_services.record_visit(
        visit=visit,
        by=by,
        actual_date=D(2026, 2, 2),
        missed=False,
        note="",
        expected_version=visit.version,
    )
    return visit


def test_an_out_of_window_visit_raises_one_deviation_however_often_synced(treated, coordinator_a):
    visit = late_c2d1(treated, coordinator_a)
    # raised by the visit's own save (subjects.services.record_visit syncs)
    raised = list(treated.deviations.all())
    assert len(raised) == 1
    dev = raised[0]
    assert (dev.category, dev.status, dev.occurred_on, dev.auto_key) == (
        "visit_window",
        "raised",
        D(2026, 2, 2),
        f"visit_window:visit:{visit.pk}",
    )
    assert "4 days late" in dev.description
    assert services.sync_deviations(treated) == []
    assert services.sync_deviations(treated) == []
    assert treated.deviations.count() == 1
    assert AuditEvent.objects.get(table_name="logs_deviation", action="INSERT").reason == (
        "Edit check: protocol deviation raised by the system"
    )


def test_the_site_confirms_or_dismisses_with_a_reason(treated, coordinator_a):
    late_c2d1(treated, coordinator_a)
    dev = treated.deviations.get()  # raised by the visit's save
    with pytest.raises(ValidationError) as caught:
        services.dismiss_deviation(deviation=dev, by=coordinator_a, expected_version=1, reason="")
    assert codes(caught.value) == {"reason": ["required"]}
    dismissed = services.dismiss_deviation(
        deviation=dev, by=coordinator_a, expected_version=1, reason="Window extended by the sponsor"
    )
    assert (dismissed.status, dismissed.decided_by) == ("dismissed", coordinator_a)
    # the site's decision stays: syncing again neither raises it again nor duplicates it
    assert services.sync_deviations(treated) == []
    assert Deviation.objects.get().status == "dismissed"
    with pytest.raises(EditConflict):
        services.confirm_deviation(deviation=dev, by=coordinator_a, expected_version=1)
    confirmed = services.confirm_deviation(deviation=dev, by=coordinator_a, expected_version=2)
    assert (confirmed.status, confirmed.dismissal_reason) == ("confirmed", "")
    with pytest.raises(ValidationError) as caught:
        services.confirm_deviation(deviation=dev, by=coordinator_a, expected_version=3)
    assert codes(caught.value) == {"status": ["same_status"]}


def test_a_deviation_whose_cause_is_corrected_is_dismissed_by_the_system(treated, coordinator_a):
    visit = late_c2d1(treated, coordinator_a)
    services.sync_deviations(treated)
    visit.refresh_from_db()
    subject_services.record_visit(
        visit=visit,
        by=coordinator_a,
        actual_date=D(2026, 1, 27),
        missed=False,
        note="",
        expected_version=visit.version,
        reason="Date misread",
    )
    services.sync_deviations(treated)
    dev = Deviation.objects.get()
    assert dev.status == "dismissed" and dev.decided_by is None
    assert "no longer" in dev.dismissal_reason


def test_anlotinib_dispensed_during_an_interruption_raises_a_deviation(treated, coordinator_a):
    dosing.add_event(
        subject=treated,
        by=coordinator_a,
        kind="interruption",
        start=D(2026, 2, 16),
        end=D(2026, 2, 20),
        reason="toxicity",
    )
    dosing.record_dispensing(
        subject=treated,
        by=coordinator_a,
        dispensed_on=D(2026, 2, 20),
        strength_mg=12,
        lot_number="L1",
        expiry=D(2027, 1, 1),
        capsules=14,
    )
    dosing.record_dispensing(
        subject=treated,
        by=coordinator_a,
        dispensed_on=D(2026, 2, 21),
        strength_mg=12,
        lot_number="L1",
        expiry=D(2027, 1, 1),
        capsules=14,
    )
    # raised by the dispensing's own save (dosing.services syncs)
    raised = treated.deviations.filter(category="dosing")
    assert [(d.category, d.occurred_on) for d in raised] == [("dosing", D(2026, 2, 20))]
    assert services.sync_deviations(treated) == []


def test_the_command_syncs_every_active_subject(treated, coordinator_a):
    from io import StringIO

    from django.core.management import call_command

    from audit.context import audit_context
    from subjects.models import Visit

    # a late visit written past the services (as an import would): only the command sees it
    with audit_context(user=coordinator_a, reason="Visit imported"):
        Visit.objects.filter(subject=treated, code="C2D1").update(actual_date=D(2026, 2, 2))
    out = StringIO()
    call_command("sync_deviations", stdout=out)
    assert "1 deviations raised" in out.getvalue()
    call_command("sync_deviations", stdout=out)
    assert Deviation.objects.count() == 1


def test_a_deviation_the_system_dismissed_is_raised_again_when_its_cause_returns(
    treated, coordinator_a
):
    visit = late_c2d1(treated, coordinator_a)
    services.sync_deviations(treated)
    for day, reason in ((D(2026, 1, 27), "Date misread"), (D(2026, 2, 2), "Source re-checked")):
        visit.refresh_from_db()
        subject_services.record_visit(
            visit=visit,
            by=coordinator_a,
            actual_date=day,
            missed=False,
            note="",
            expected_version=visit.version,
            reason=reason,
        )
        services.sync_deviations(treated)
    dev = Deviation.objects.get()
    assert (dev.status, dev.dismissal_reason) == ("raised", "")
