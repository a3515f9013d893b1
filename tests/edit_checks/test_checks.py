"""Issue 14 section 2: each new edit check raises its query on bad data and closes it itself
once the data are fixed, with the values worked out by hand (see conftest.py for the
subject's dates and visit windows)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from alter_s006.edit_check_runs import sync_subject_checks
from audit.context import audit_context
from crfs import services as crf_services
from dosing import services as dosing
from queries.models import Query
from safety import services
from safety.models import AdverseEvent
from safety.services.dose_link import DOSE_CHECK
from subjects import services as subject_services
from subjects.models import Subject, Visit
from tests.edit_checks.conftest import open_queries
from tests.safety.conftest import term

D = dt.date
UTC = dt.UTC
CONSENT = "safety.ae_onset_before_consent"
REASON = "safety.dose_event_without_reason"
COMPLIANCE = "dosing.compliance_out_of_range"
MISSED = "subjects.visit_missed"
INCOMPLETE = "crfs.incomplete."


def hypertension(subject, by, **extra):
    return services.record_ae(
        subject=subject,
        by=by,
        term=term("Hypertension"),
        grade=2,
        onset_date=D(2026, 2, 1),
        outcome="not_recovered",
        ongoing=True,
        **extra,
    )


def correct_consent(subject, by, day):
    return subject_services.correct_subject(
        subject=subject,
        expected_version=subject.version,
        changes={"consent_date": day},
        by=by,
        reason="Consent date misread from the signed form",
    )


def visit(subject, code) -> Visit:
    return Visit.objects.select_related("subject__site").get(subject=subject, code=code)


def record_visit(subject, code, by, *, on=None, missed=False):
    v = visit(subject, code)
    return subject_services.record_visit(
        visit=v, expected_version=v.version, actual_date=on, missed=missed, note="", by=by
    )


# --- AE onset before the informed consent ---------------------------------------------------


def test_an_ae_onset_before_a_corrected_consent_raises_and_closes(subject, coordinator_a):
    """The AE form refuses an onset before the consent (``before_consent``); a later correction
    of the consent date can put a stored onset (2026-02-01) before it: 02-02 fails (one day
    after the onset), 02-01 passes (the same day)."""
    ae = hypertension(subject, coordinator_a)
    assert not open_queries(CONSENT, ae).exists()

    moved = correct_consent(subject, coordinator_a, D(2026, 2, 2))
    [query] = open_queries(CONSENT, ae)
    assert (query.subject_id, query.field) == (subject.pk, "onset_date")
    assert query.text == (
        "The onset 2026-02-01 is before the subject's informed consent (2026-02-02). Please "
        "correct the onset date, or the consent date if that is the one wrong."
    )

    correct_consent(moved, coordinator_a, D(2026, 2, 1))
    assert not open_queries(CONSENT, ae).exists()
    assert Query.objects.get(edit_check=CONSENT).status == Query.Status.CLOSED


def test_a_consent_date_written_by_another_path_is_caught_by_the_periodic_run(
    subject, coordinator_a
):
    """A write outside the services (here a bulk UPDATE of the consent date) sends no signal:
    the periodic run raises the query, and closes it once the data pass again."""
    ae = hypertension(subject, coordinator_a)
    with audit_context(reason="Data fix outside the EDC's forms", subject=subject):
        Subject.objects.filter(pk=subject.pk).update(consent_date=D(2026, 2, 2))
    sync_subject_checks(Subject.objects.select_related("site").get(pk=subject.pk))
    assert open_queries(CONSENT, ae).exists()

    with audit_context(reason="Data fix outside the EDC's forms", subject=subject):
        Subject.objects.filter(pk=subject.pk).update(consent_date=D(2025, 12, 20))
    sync_subject_checks(Subject.objects.select_related("site").get(pk=subject.pk))
    assert not open_queries(CONSENT, ae).exists()


def test_an_ae_end_before_its_onset_cannot_be_stored_by_any_path(subject, coordinator_a):
    """Not a query: the service refuses it with a code and the database refuses it on every
    write path (constraint ``ae_end_not_before_onset``), so no stored event can fail it."""
    ae = hypertension(subject, coordinator_a)
    with pytest.raises(ValidationError) as refused:
        services.update_ae(
            ae=ae,
            by=coordinator_a,
            expected_version=ae.version,
            reason="Resolved",
            changes={"ongoing": False, "end_date": D(2026, 1, 31)},
        )
    assert [e.code for e in refused.value.error_dict["end_date"]] == ["end_before_onset"]
    with pytest.raises(IntegrityError, match="ae_end_not_before_onset"), transaction.atomic():
        AdverseEvent.objects.filter(pk=ae.pk).update(ongoing=False, end_date=D(2026, 1, 31))
    assert AdverseEvent.objects.get(pk=ae.pk).end_date is None


# --- a dose reduction or interruption without a linked AE or a reason -----------------------


@pytest.mark.parametrize(
    ("kind", "extra", "action"),
    [
        ("interruption", {"end": D(2026, 2, 5)}, "interrupted"),
        ("reduction", {"dose_mg": 10}, "reduced"),
    ],
)
def test_a_modification_for_an_unexplained_other_reason_raises_and_closes_when_its_ae_links(
    subject, coordinator_a, kind, extra, action
):
    event = dosing.add_event(
        subject=subject, by=coordinator_a, kind=kind, start=D(2026, 2, 2), reason="other", **extra
    )
    [query] = open_queries(REASON, event)
    assert query.field == "detail"
    assert query.text.startswith(f"{event.get_kind_display()} from 2026-02-02 gives “Other”")
    assert not open_queries(DOSE_CHECK, event).exists()  # not for toxicity

    hypertension(subject, coordinator_a, action_taken=action, dose_event=event)
    assert not open_queries(REASON, event).exists()
    assert Query.objects.get(edit_check=REASON).status == Query.Status.CLOSED


@pytest.mark.parametrize(
    ("reason", "detail", "checks"),
    [
        ("other", "Patient travelling, no drug supply", set()),
        ("investigator", "", set()),
        ("toxicity", "", {DOSE_CHECK}),  # the AE link check, not this one
    ],
)
def test_a_modification_with_its_reason_gets_no_reason_query(
    subject, coordinator_a, reason, detail, checks
):
    event = dosing.add_event(
        subject=subject,
        by=coordinator_a,
        kind="reduction",
        start=D(2026, 2, 2),
        reason=reason,
        dose_mg=10,
        detail=detail,
    )
    opened = Query.objects.filter(record_id=event.pk, status=Query.Status.OPEN)
    assert set(opened.values_list("edit_check", flat=True)) == checks


# --- compliance < 80 % or > 120 % ------------------------------------------------------------


@pytest.mark.parametrize(
    ("returned", "percent", "fixed"),
    [
        (17, "78.6", 16),  # 11 taken / 14 planned = 78.57 -> low; 12 / 14 = 85.7
        (11, "121.4", 12),  # 17 / 14 = 121.43 -> high; 16 / 14 = 114.3
    ],
)
def test_compliance_out_of_range_raises_and_closes_when_the_return_is_corrected(
    subject, coordinator_a, returned, percent, fixed
):
    """28 capsules of 12 mg dispensed at C1D1 (2026-01-05), returned 2026-01-26: the period
    01-05 to 01-25 plans the 14 doses of cycle 1 (days 1-14, 01-05 to 01-18)."""
    row = dosing.record_dispensing(
        subject=subject,
        by=coordinator_a,
        dispensed_on=D(2026, 1, 5),
        strength_mg=12,
        lot_number="A2311",
        expiry=D(2027, 6, 30),
        capsules=28,
    )
    row = dosing.record_return(
        dispensing=row,
        expected_version=row.version,
        by=coordinator_a,
        returned_on=D(2026, 1, 26),
        returned=returned,
        reported_missed=None,
    )
    [query] = open_queries(COMPLIANCE, row)
    assert query.field == "returned"
    assert query.text == (
        f"Compliance of the bottle dispensed on 2026-01-05 is {percent}% ({28 - returned} "
        "capsules taken for 14 doses planned to 2026-01-25), outside 80–120%. Please check the "
        "capsules returned and the missed doses, or explain."
    )

    dosing.record_return(
        dispensing=row,
        expected_version=row.version,
        by=coordinator_a,
        returned_on=D(2026, 1, 26),
        returned=fixed,
        reported_missed=None,
        reason="Capsules recounted",
    )
    assert not open_queries(COMPLIANCE, row).exists()
    assert Query.objects.get(edit_check=COMPLIANCE).status == Query.Status.CLOSED


# --- a visit missed ---------------------------------------------------------------------------


def _missed_codes():
    ids = open_queries(MISSED).values_list("record_id", flat=True)
    return set(Visit.objects.filter(pk__in=ids).values_list("code", flat=True))


def test_a_visit_whose_window_closed_unrecorded_raises_and_closes_when_recorded(
    subject, coordinator_a
):
    """On 2026-03-02: SCR (window closed 01-17), C1D1 (01-08), C2D1 (01-29), C3D1 (02-19) and
    TA1 (02-23) are overdue; C4D1 (closes 03-12) is not."""
    sync_subject_checks(subject)
    assert _missed_codes() == {"SCR", "C1D1", "C2D1", "C3D1", "TA1"}
    [query] = open_queries(MISSED, visit(subject, "C2D1"))
    assert query.field == "actual_date"
    assert query.text == (
        "The window of visit C2D1 closed on 2026-01-29 and nothing is recorded. Please enter "
        "the visit date, or mark the visit missed."
    )

    record_visit(subject, "C2D1", coordinator_a, on=D(2026, 1, 27))
    record_visit(subject, "TA1", coordinator_a, missed=True)
    assert _missed_codes() == {"SCR", "C1D1", "C3D1"}

    sync_subject_checks(subject)  # idempotent: nothing raised twice, nothing reopened
    assert _missed_codes() == {"SCR", "C1D1", "C3D1"}
    assert open_queries(MISSED).count() == 3


def test_a_window_closes_at_midnight_at_the_site(subject):
    """C4D1's window closes 2026-03-12: at 23:59 that day in Guangzhou (15:59 UTC) it is not
    overdue; at 00:00 on 03-13 there (16:00 UTC, still 03-12 in UTC) it is."""
    c4 = visit(subject, "C4D1")
    with time_machine.travel(dt.datetime(2026, 3, 12, 15, 59, tzinfo=UTC), tick=False):
        sync_subject_checks(subject)
    assert not open_queries(MISSED, c4).exists()
    with time_machine.travel(dt.datetime(2026, 3, 12, 16, 0, tzinfo=UTC), tick=False):
        sync_subject_checks(subject)
    assert open_queries(MISSED, c4).exists()


# --- a CRF still incomplete 7 days after the visit ------------------------------------------

C2_FORMS = {  # cycle 2: the ECG and thyroid function only at cycles 1, 3, 5, ...
    "vital_signs",
    "ecog",
    "physical_exam",
    "lab_panel",
    "urinalysis",
    "con_med_review",
    "ae_review",
    "dispensing",
}


def _incomplete_forms(v):
    rows = Query.objects.filter(
        record_type="subjects.visit",
        record_id=v.pk,
        edit_check__startswith=INCOMPLETE,
        status=Query.Status.OPEN,
    )
    return {row.field for row in rows}


def test_a_crf_incomplete_7_days_after_its_visit_raises_one_query_per_form_and_closes(
    subject, coordinator_a
):
    """C2D1 held 2026-01-26: on 02-02 (day 7) nothing yet; on 02-03 (day 8) one query per
    required CRF not complete; the vital signs saved close theirs."""
    c2 = record_visit(subject, "C2D1", coordinator_a, on=D(2026, 1, 26))
    sync_subject_checks(subject, today=D(2026, 2, 2))
    assert _incomplete_forms(c2) == set()

    sync_subject_checks(subject, today=D(2026, 2, 3))
    assert _incomplete_forms(c2) == C2_FORMS
    ecog = Query.objects.get(edit_check=INCOMPLETE + "ecog", status=Query.Status.OPEN)
    assert ecog.text == (
        "The CRF “ECOG performance status” of visit C2D1 (held on 2026-01-26) is still not "
        "complete 7 days after the visit. Please complete it."
    )

    crf_services.save_crf(
        visit=visit(subject, "C2D1"),
        form_key="vital_signs",
        by=coordinator_a,
        values={
            "assessed_on": D(2026, 1, 26),
            "systolic": 128,
            "diastolic": 82,
            "heart_rate": 76,
            "temperature": Decimal("36.8"),
            "weight": Decimal("72.0"),
            "height": None,
            "not_done_reason": "",
        },
    )
    assert _incomplete_forms(c2) == C2_FORMS - {"vital_signs"}
    closed = Query.objects.get(edit_check=INCOMPLETE + "vital_signs")
    assert closed.status == Query.Status.CLOSED

    sync_subject_checks(subject, today=D(2026, 2, 3))  # idempotent
    assert _incomplete_forms(c2) == C2_FORMS - {"vital_signs"}


# --- the periodic run -------------------------------------------------------------------------


def test_the_command_and_the_beat_task_run_every_subject(subject):
    out = StringIO()
    call_command("sync_edit_checks", stdout=out)
    assert out.getvalue().strip() == "1 subjects checked."
    assert open_queries(MISSED).count() == 5

    from subjects.tasks import sync_edit_checks

    assert sync_edit_checks() == 1
    assert open_queries(MISSED).count() == 5
    beat = settings.CELERY_BEAT_SCHEDULE["sync-edit-checks"]
    assert beat["task"] == "subjects.tasks.sync_edit_checks"


def test_the_screening_visit_closed_by_its_last_crf_closes_its_missed_query(subject, coordinator_a):
    """SCR (window closed 2026-01-17) is dated by the service once its CRFs are complete, not
    through ``record_visit``: its query closes there too."""
    from assessments.services import record_baseline

    sync_subject_checks(subject)
    scr, day = visit(subject, "SCR"), D(2025, 12, 22)
    assert open_queries(MISSED, scr).exists()
    record_baseline(
        subject=subject,
        by=coordinator_a,
        non_targets=[],
        targets=[
            {
                "lesion_id": "T1",
                "organ": "liver",
                "location": "segment VI",
                "method": "CT",
                "slice_thickness_mm": 5,
                "is_node": False,
                "baseline_date": day,
                "diameter_mm": 40,
            }
        ],
    )
    forms = {
        "vital_signs": {
            "assessed_on": day,
            "systolic": 128,
            "diastolic": 82,
            "heart_rate": 76,
            "temperature": Decimal("36.8"),
            "weight": Decimal("72.0"),
            "height": Decimal("170.0"),
            "not_done_reason": "",
        },
        "physical_exam": {"assessed_on": day, "result": "normal", "findings": ""},
        "ecg": {
            "assessed_on": day,
            "qt": 400,
            "rr": 1000,
            "heart_rate": None,
            "interpretation": "normal",
            "findings": "",
        },
        "con_med_review": {"assessed_on": day, "answer": "none", "comment": ""},
        "medical_history_review": {"assessed_on": day, "answer": "none", "comment": ""},
    }
    for key, values in forms.items():
        assert open_queries(MISSED, scr).exists()  # not complete before the last one
        crf_services.save_crf(
            visit=visit(subject, "SCR"), form_key=key, by=coordinator_a, values=values
        )
    assert visit(subject, "SCR").actual_date is not None
    assert not open_queries(MISSED, scr).exists()


def test_a_rerun_takes_as_many_statements_with_4_overdue_visits_as_with_25(subject, coordinator_a):
    """The periodic run reads a fixed number of times whatever the number of visits and
    queries; with nothing changed since the last run it writes nothing."""
    record_visit(subject, "C2D1", coordinator_a, on=D(2026, 1, 26))
    runs = []
    for today in (D(2026, 3, 2), D(2026, 12, 31)):
        sync_subject_checks(subject, today=today)
        with CaptureQueriesContext(connection) as run:
            sync_subject_checks(subject, today=today)
        runs.append((open_queries(MISSED).count(), len(run.captured_queries)))
    (few, few_statements), (many, many_statements) = runs
    # 03-02: SCR, C1D1, C3D1, TA1 (C2D1 held). 12-31: SCR, C1D1, C3D1 to C17D1 (15), TA1 to
    # TA8 (8, TA8 closes 12-14) = 25; C18D1's window closes that very day: not yet
    assert (few, many) == (4, 25)
    assert few_statements == many_statements
    assert not any(q["sql"].startswith(("INSERT", 'UPDATE "queries')) for q in run.captured_queries)


def test_a_locked_visit_gets_no_query_and_does_not_stop_the_run(subject, data_manager):
    """Locked data take no new query (issue 14 §4, refused by the database): C2D1 locked, the
    other overdue visits still get theirs."""
    from monitoring import services as monitoring

    monitoring.place_hold(
        by=data_manager,
        kind="lock",
        level="visit",
        reason="Visit reviewed",
        subject=subject,
        visit=visit(subject, "C2D1"),
    )
    sync_subject_checks(subject)
    assert _missed_codes() == {"SCR", "C1D1", "C3D1", "TA1"}
