"""Tests of subjects.services on real records: registration, the lifecycle and the schedule.

Every test runs on a frozen clock: 2026-03-02 10:00 in Guangzhou (a Monday), so
``site.today()`` is 2026-03-02 and every expected date below is worked out by hand.
"""

from __future__ import annotations

import datetime as dt
from unittest.mock import ANY
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.forms.models import model_to_dict

from audit.models import AuditEvent
from eligibility.models import EligibilitySignature
from subjects import services
from subjects.lifecycle import ALLOWED_TRANSITIONS, LABELS, REASON_REQUIRED, SubjectStatus
from subjects.models import StatusChange, Subject, Visit
from tests.factories import make_subject, sign_eligible
from tests.subjects.codes import codes

S = SubjectStatus
D = dt.date
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TODAY = D(2026, 3, 2)

# --- timeline A: the standard path, one step per status -------------------------------------
# Consent 2026-01-05 (Mon); enrolled 2026-01-19 with C1D1 planned 2026-01-26; first dose
# 2026-01-26; off treatment 2026-02-20 (last dose 2026-02-18); follow-up 2026-02-27; completed,
# withdrawn or died today. Each step is dated on or after the one before it.
CONSENT_A = D(2026, 1, 5)
STEPS = {
    S.SCREEN_FAILED: {"on_date": D(2026, 1, 12), "reason": "E09a: blood pressure 160/100 mmHg"},
    S.ENROLLED: {"on_date": D(2026, 1, 19), "c1d1": D(2026, 1, 26)},
    S.ON_TREATMENT: {"on_date": D(2026, 1, 26)},
    S.OFF_TREATMENT: {
        "on_date": D(2026, 2, 20),
        "last_dose": D(2026, 2, 18),
        "reason": "Progressive disease (RECIST 1.1)",
    },
    S.IN_FOLLOW_UP: {"on_date": D(2026, 2, 27)},
    S.COMPLETED: {"on_date": TODAY},
    S.WITHDRAWN: {"on_date": TODAY, "reason": "Consent withdrawn by the subject"},
    S.DIED: {"on_date": TODAY, "reason": "Death from disease progression"},
}
PATHS = {
    S.SCREENING: [],
    S.ENROLLED: [S.ENROLLED],
    S.ON_TREATMENT: [S.ENROLLED, S.ON_TREATMENT],
    S.OFF_TREATMENT: [S.ENROLLED, S.ON_TREATMENT, S.OFF_TREATMENT],
    S.IN_FOLLOW_UP: [S.ENROLLED, S.ON_TREATMENT, S.OFF_TREATMENT, S.IN_FOLLOW_UP],
    S.COMPLETED: [S.ENROLLED, S.ON_TREATMENT, S.OFF_TREATMENT, S.IN_FOLLOW_UP, S.COMPLETED],
    S.SCREEN_FAILED: [S.SCREEN_FAILED],
    S.WITHDRAWN: [S.WITHDRAWN],
    S.DIED: [S.DIED],
}
ALLOWED = sorted((cur, tgt) for cur, targets in ALLOWED_TRANSITIONS.items() for tgt in targets)
REFUSED = sorted(
    (cur, tgt)
    for cur in SubjectStatus
    for tgt in SubjectStatus
    if tgt not in ALLOWED_TRANSITIONS[cur]
)


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


def prepare_enrolment(subject, target, by, **overrides):
    """Before enrolling: an eligible screening signed by an investigator for that C1D1."""
    data = {"c1d1": None, **STEPS.get(target, {}), **overrides}
    if target != S.ENROLLED or data["c1d1"] is None or subject.status != S.SCREENING:
        return subject
    if not EligibilitySignature.objects.filter(subject=subject, voided_at__isnull=True).exists():
        sign_eligible(subject, by=by, anchor=data["on_date"], planned_c1d1=data["c1d1"])
        subject.refresh_from_db()
    return subject


def change(subject, target, by, **overrides):
    """Call services.change_status with the timeline-A data for ``target``."""
    subject = prepare_enrolment(subject, target, by, **overrides)
    data = {"reason": "", "c1d1": None, "last_dose": None, **STEPS.get(target, {})}
    data.update(overrides)
    return services.change_status(
        subject=subject, target=target, by=by, expected_version=subject.version, **data
    )


def subject_at(status, site, by, **register):
    """Register a subject on timeline A and walk it to ``status`` through the service."""
    subject = make_subject(site, by, consent_date=CONSENT_A, **register)
    for step in PATHS[status]:
        subject = change(subject, step, by)
    return subject


def snapshot(subject):
    """Everything a refused change must leave alone."""
    return (
        model_to_dict(Subject.objects.get(pk=subject.pk)),
        Subject.objects.get(pk=subject.pk).version,
        list(Visit.objects.filter(subject=subject).values().order_by("code")),
        StatusChange.objects.count(),
        AuditEvent.objects.count(),
    )


def schedule_of(subject):
    """{code: (target, earliest, latest)} of the stored visits."""
    return {
        v.code: (v.target_date, v.earliest, v.latest) for v in Visit.objects.filter(subject=subject)
    }


def refusal_code(current, target):
    return "already_in_status" if current == target else "transition_not_allowed"


# --- registration ----------------------------------------------------------------------------


def test_registration_numbers_screening_per_site_in_order(site_a, site_b, coordinator_a, cast):
    first = make_subject(site_a, coordinator_a)
    second = make_subject(site_a, coordinator_a)
    other_site = make_subject(site_b, cast["coordinator_b"])
    assert (first.screening_number, second.screening_number) == ("GZ01-S001", "GZ01-S002")
    assert other_site.screening_number == "SH02-S001"
    assert first.subject_number is None


def test_a_duplicate_screening_number_violates_the_unique_constraint(site_a, coordinator_a):
    existing = make_subject(site_a, coordinator_a)
    with pytest.raises(IntegrityError, match="screening_number"), transaction.atomic():
        Subject.objects.create(
            site=site_a,
            screening_number=existing.screening_number,
            sex="M",
            date_of_birth=D(1970, 1, 1),
            initials="DUP",
            consent_date=TODAY,
            consent_version="2.1",
            status_date=TODAY,
            created_by=coordinator_a,
        )
    assert Subject.objects.filter(screening_number="GZ01-S001").count() == 1


def test_registration_records_screening_and_plans_the_screening_visit(site_a, coordinator_a):
    subject = make_subject(site_a, coordinator_a, consent_date=CONSENT_A)
    assert (subject.status, subject.status_date) == (S.SCREENING, CONSENT_A)
    change_row = StatusChange.objects.get(subject=subject)
    assert (change_row.from_status, change_row.to_status, change_row.on_date) == (
        "",
        S.SCREENING,
        CONSENT_A,
    )
    # screening lasts up to 28 days: 2026-01-05 + 28 d = 2026-02-02
    assert schedule_of(subject) == {"SCR": (CONSENT_A, CONSENT_A, D(2026, 2, 2))}


REGISTRATION = {
    "sex": "F",
    "date_of_birth": D(1980, 5, 17),
    "initials": "zwl",
    "consent_date": CONSENT_A,
    "consent_version": "2.1",
}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"site": None}, {"site": ["unknown_site"]}),
        ({"consent_date": D(2026, 3, 3)}, {"consent_date": ["future_date"]}),
        ({"date_of_birth": D(2024, 1, 1)}, {"date_of_birth": ["age_implausible"]}),
        ({"sex": "X"}, {"sex": ["invalid_choice"]}),  # the model's own check, its code
        ({"initials": "Z1"}, {"initials": ["invalid"]}),
    ],
    ids=["unknown-site", "future-consent", "age-2", "sex", "initials"],
)
def test_a_refused_registration_names_the_field_and_code_and_stores_nothing(
    changes, expected, site_a, coordinator_a
):
    values = {"site": site_a, **REGISTRATION, **changes}
    audited = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        services.register_subject(by=coordinator_a, **values)
    assert codes(refused.value) == expected
    assert (Subject.objects.count(), AuditEvent.objects.count()) == (0, audited)


def test_registration_stores_the_initials_in_capitals(site_a, coordinator_a):
    subject = services.register_subject(site=site_a, by=coordinator_a, **REGISTRATION)
    assert subject.initials == "ZWL"


def test_a_correction_is_checked_as_a_whole_and_only_demographics_change(site_a, coordinator_a):
    subject = make_subject(site_a, coordinator_a, consent_date=CONSENT_A)
    before = snapshot(subject)
    for changes, expected in [
        ({"date_of_birth": D(2026, 1, 6)}, {"consent_date": ["consent_before_birth"]}),
        ({"year_of_birth": 1981}, {"year_of_birth": ["year_mismatch"]}),
        ({"status": "enrolled"}, {"__all__": ["not_editable"]}),
    ]:
        with pytest.raises(ValidationError) as refused:
            services.correct_subject(
                subject=subject, expected_version=1, changes=changes, by=coordinator_a, reason="x"
            )
        assert codes(refused.value) == expected
    assert snapshot(subject) == before
    fixed = services.correct_subject(
        subject=subject,
        expected_version=1,
        changes={"initials": "abd"},
        by=coordinator_a,
        reason="Initials misread",
    )
    assert (fixed.initials, fixed.version) == ("ABD", 2)


# --- allowed transitions ---------------------------------------------------------------------


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=lambda s: str(s))
def test_every_allowed_transition_is_recorded_as_a_dated_status_change(
    current, target, site_a, coordinator_a
):
    subject = subject_at(current, site_a, coordinator_a)
    changes_before = StatusChange.objects.filter(subject=subject).count()

    moved = change(subject, target, coordinator_a)

    step = STEPS[target]
    assert (moved.status, moved.status_date) == (target, step["on_date"])
    assert moved.version == subject.version + 1
    assert StatusChange.objects.filter(subject=subject).count() == changes_before + 1
    recorded = StatusChange.objects.filter(subject=subject).latest("id")
    assert (recorded.from_status, recorded.to_status, recorded.on_date) == (
        current,
        target,
        step["on_date"],
    )
    assert recorded.by == coordinator_a
    assert recorded.reason == step.get("reason", "")
    if target in REASON_REQUIRED:
        assert recorded.reason  # ends participation (or treatment): the reason is kept
    # the audit trail names the user and the reason of the status change
    event = AuditEvent.objects.filter(
        table_name="subjects_statuschange", record_pk=str(recorded.pk)
    ).get()
    assert (event.action, event.app_username) == ("INSERT", "coord_a")
    assert event.reason == (step.get("reason") or f"Status: {LABELS[target]}")


def test_enrolment_assigns_the_subject_number_and_plans_cycles_and_assessments(
    site_a, coordinator_a
):
    first = subject_at(S.ENROLLED, site_a, coordinator_a)
    second = subject_at(S.ENROLLED, site_a, coordinator_a)
    assert (first.subject_number, second.subject_number) == ("GZ01-001", "GZ01-002")
    assert str(first) == "GZ01-001"
    assert first.c1d1_date == D(2026, 1, 26)

    plan = schedule_of(first)
    # C1..C36 every 21 days from C1D1 2026-01-26, +/- 3 days
    assert [c for c in plan if c.startswith("C")] == [f"C{n}D1" for n in range(1, 37)]
    assert plan["C1D1"] == (D(2026, 1, 26), D(2026, 1, 23), D(2026, 1, 29))
    assert plan["C2D1"] == (D(2026, 2, 16), D(2026, 2, 13), D(2026, 2, 19))
    assert plan["C3D1"] == (D(2026, 3, 9), D(2026, 3, 6), D(2026, 3, 12))
    # C36 = C1D1 + 35 x 21 = +735 d: 2026-01-26 + 730 d = 2028-01-26, + 5 d = 2028-01-31
    assert plan["C36D1"] == (D(2028, 1, 31), D(2028, 1, 28), D(2028, 2, 3))
    # TA every 42 days from C1D1 until 24 months (2028-01-26): 42 x 17 = 714 <= 730 < 756
    assert [c for c in plan if c.startswith("TA")] == [f"TA{k}" for k in range(1, 18)]
    assert plan["TA1"] == (D(2026, 3, 9), D(2026, 3, 2), D(2026, 3, 16))
    assert plan["TA2"] == (D(2026, 4, 20), D(2026, 4, 13), D(2026, 4, 27))
    assert plan["TA17"][0] == D(2028, 1, 10)  # 2026-01-26 + 714 d = 2028-01-31 - 21 d
    # the screening visit stays as registered
    assert plan["SCR"] == (CONSENT_A, CONSENT_A, D(2026, 2, 2))
    assert len(plan) == 1 + 36 + 17


def test_first_dose_on_another_day_re_anchors_cycles_and_assessments(site_a, coordinator_a):
    enrolled = subject_at(S.ENROLLED, site_a, coordinator_a)
    treated = change(enrolled, S.ON_TREATMENT, coordinator_a, on_date=D(2026, 1, 28))
    assert treated.c1d1_date == D(2026, 1, 28)  # the first dose is cycle 1 day 1
    plan = schedule_of(treated)
    assert plan["C1D1"][0] == D(2026, 1, 28)
    assert plan["C2D1"][0] == D(2026, 2, 18)  # 2026-01-28 + 21 d
    assert plan["TA1"][0] == D(2026, 3, 11)  # 2026-01-28 + 42 d


def test_stopping_treatment_needs_the_last_dose_and_plans_eot_sfu_and_survival(
    site_a, coordinator_a
):
    treated = subject_at(S.ON_TREATMENT, site_a, coordinator_a)
    before = snapshot(treated)
    with pytest.raises(ValidationError) as refused:
        change(treated, S.OFF_TREATMENT, coordinator_a, last_dose=None)
    assert codes(refused.value) == {"last_dose": ["last_dose_required"]}
    assert snapshot(treated) == before

    stopped = change(treated, S.OFF_TREATMENT, coordinator_a)
    assert stopped.last_dose_date == D(2026, 2, 18)
    plan = schedule_of(stopped)
    # cycles end at the decision (2026-02-20): C1 (01-26) and C2 (02-16) stay, C3 (03-09) goes
    assert [c for c in plan if c.startswith("C")] == ["C1D1", "C2D1"]
    # EOT within 7 days of the decision: 2026-02-20 .. 2026-02-27
    assert plan["EOT"] == (D(2026, 2, 20), D(2026, 2, 20), D(2026, 2, 27))
    # SFU 21 days after the last dose: 2026-02-18 + 21 d = 2026-03-11, +/- 3 d
    assert plan["SFU"] == (D(2026, 3, 11), D(2026, 3, 8), D(2026, 3, 14))
    # survival every 84 days from the SFU day: 03-11 + 84 d = 06-03 (20 + 30 + 31 + 3), +/- 14
    assert plan["SURV1"] == (D(2026, 6, 3), D(2026, 5, 20), D(2026, 6, 17))
    # SURV8 = 03-11 + 672 d = 2027-03-11 + 307 d = 2028-01-12 <= 2028-01-26 < SURV9 (04-05)
    assert [c for c in plan if c.startswith("SURV")] == [f"SURV{k}" for k in range(1, 9)]
    assert plan["SURV8"][0] == D(2028, 1, 12)
    # tumour assessments stay on the 42-day grid
    assert len([c for c in plan if c.startswith("TA")]) == 17
    assert len(plan) == 1 + 2 + 17 + 1 + 1 + 8


def test_going_into_follow_up_does_not_bring_back_cycles_dropped_at_the_decision(
    site_a, coordinator_a
):
    treated = subject_at(S.ON_TREATMENT, site_a, coordinator_a)
    # stop on 2026-02-10 (before C2D1 on 02-16), last dose 2026-02-08
    stopped = change(
        treated, S.OFF_TREATMENT, coordinator_a, on_date=D(2026, 2, 10), last_dose=D(2026, 2, 8)
    )
    assert [c for c in schedule_of(stopped) if c.startswith("C")] == ["C1D1"]

    follow_up = change(stopped, S.IN_FOLLOW_UP, coordinator_a, on_date=D(2026, 2, 20))

    plan = schedule_of(follow_up)
    assert [c for c in plan if c.startswith("C")] == ["C1D1"]
    assert plan["EOT"] == (D(2026, 2, 10), D(2026, 2, 10), D(2026, 2, 17))
    assert plan["SFU"][0] == D(2026, 3, 1)  # 2026-02-08 + 21 d


@pytest.mark.parametrize("target", [S.WITHDRAWN, S.DIED])
def test_nothing_is_planned_after_withdrawal_or_death(target, site_a, coordinator_a):
    treated = subject_at(S.ON_TREATMENT, site_a, coordinator_a)
    left = change(treated, target, coordinator_a)  # today, 2026-03-02
    # due before today: SCR (01-05), C1D1 (01-26), C2D1 (02-16); C3D1 and TA1 are on 03-09
    assert sorted(schedule_of(left)) == ["C1D1", "C2D1", "SCR"]


# --- refused transitions ---------------------------------------------------------------------


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=lambda s: str(s))
def test_every_other_transition_is_refused_and_changes_nothing(
    current, target, site_a, coordinator_a
):
    subject = subject_at(current, site_a, coordinator_a)
    before = snapshot(subject)
    with pytest.raises(ValidationError) as refused:
        change(
            subject,
            target,
            coordinator_a,
            on_date=TODAY,
            reason="reason given",
            c1d1=TODAY,
            last_dose=TODAY,
        )
    # keyed by the service's argument, as the page's and the API's field: ``target``
    assert codes(refused.value) == {"target": [refusal_code(current, target)]}
    assert snapshot(subject) == before


BAD_STEPS = [
    # (current, target, overrides, field, code)
    (S.SCREENING, S.SCREEN_FAILED, {"reason": "  "}, "reason", "reason_required"),
    (S.ON_TREATMENT, S.OFF_TREATMENT, {"reason": ""}, "reason", "reason_required"),
    (S.IN_FOLLOW_UP, S.WITHDRAWN, {"reason": ""}, "reason", "reason_required"),
    (S.ENROLLED, S.DIED, {"reason": ""}, "reason", "reason_required"),
    (S.SCREENING, S.ENROLLED, {"on_date": D(2026, 3, 3)}, "on_date", "future_date"),
    (
        S.SCREENING,
        S.WITHDRAWN,
        {"on_date": D(2026, 1, 4)},  # the previous change is the consent, 2026-01-05
        "on_date",
        "before_previous_change",
    ),
    (S.SCREENING, S.WITHDRAWN, {"reason": "x" * 501}, "reason", "max_length"),
    # no signed eligibility verdict at all: enrolment is refused (PROTOCOL.md Eligibility;
    # the check and its code are eligibility's)
    (S.SCREENING, S.ENROLLED, {"c1d1": None}, "target", ANY),
    (
        S.SCREENING,
        S.ENROLLED,
        {"c1d1": D(2026, 1, 18)},  # enrolment on 2026-01-19
        "c1d1",
        "c1d1_before_enrolment",
    ),
    (
        S.ON_TREATMENT,
        S.OFF_TREATMENT,
        {"last_dose": D(2026, 2, 21)},  # decision on 2026-02-20
        "last_dose",
        "last_dose_after_decision",
    ),
    (
        S.ON_TREATMENT,
        S.OFF_TREATMENT,
        {"last_dose": D(2026, 1, 25)},  # C1D1 on 2026-01-26
        "last_dose",
        "before_c1d1",
    ),
]


@pytest.mark.parametrize(("current", "target", "overrides", "field", "code"), BAD_STEPS)
def test_an_allowed_transition_with_bad_data_is_refused_and_changes_nothing(
    current, target, overrides, field, code, site_a, coordinator_a
):
    subject = subject_at(current, site_a, coordinator_a)
    subject = prepare_enrolment(subject, target, coordinator_a, **overrides)
    before = snapshot(subject)
    with pytest.raises(ValidationError) as refused:
        change(subject, target, coordinator_a, **overrides)
    assert codes(refused.value) == {field: [code]}
    assert snapshot(subject) == before


def test_an_unknown_status_is_refused_with_a_message(site_a, coordinator_a):
    subject = subject_at(S.SCREENING, site_a, coordinator_a)
    before = snapshot(subject)
    with pytest.raises(ValidationError) as refused:
        change(subject, "cured", coordinator_a, on_date=TODAY)
    assert codes(refused.value) == {"target": ["unknown_status"]}
    assert refused.value.message_dict == {"target": ["“cured” is not a subject status."]}
    assert snapshot(subject) == before


# --- visits on real records (timeline B) -----------------------------------------------------
# Consent 2025-11-10, enrolled 2025-11-24, first dose = C1D1 2025-12-01 (Mon).
# Cycles: C1 12-01, C2 12-22, C3 2026-01-12, C4 02-02, C5 02-23, C6 03-16 ...
# Assessments: TA1 2026-01-12, TA2 02-23, ... TA17 = 2025-12-01 + 714 d = 2027-11-15.


def subject_on_treatment_since_december(site, by):
    subject = make_subject(site, by, consent_date=D(2025, 11, 10))
    subject = change(subject, S.ENROLLED, by, on_date=D(2025, 11, 24), c1d1=D(2025, 12, 1))
    return change(subject, S.ON_TREATMENT, by, on_date=D(2025, 12, 1))


def record(subject, code, by, actual_date, reason="", missed=False):
    visit = Visit.objects.get(subject=subject, code=code)
    return services.record_visit(
        visit=visit,
        expected_version=visit.version,
        actual_date=actual_date,
        missed=missed,
        note="",
        by=by,
        reason=reason,
    )


def test_a_late_cycle_shifts_later_cycles_but_not_the_assessments(site_a, coordinator_a):
    subject = subject_on_treatment_since_december(site_a, coordinator_a)
    before = schedule_of(subject)
    assert before["C4D1"][0] == D(2026, 2, 2)
    assert before["C36D1"][0] == D(2027, 12, 6)  # 2025-12-01 + 735 d

    c3 = record(subject, "C3D1", coordinator_a, D(2026, 1, 19))  # target 01-12, 7 days late

    assert c3.days_outside_window() == 4  # window closes 2026-01-15
    after = schedule_of(subject)
    assert after["C3D1"] == before["C3D1"]  # the plan of the recorded visit is kept
    assert after["C4D1"] == (D(2026, 2, 9), D(2026, 2, 6), D(2026, 2, 12))  # 01-19 + 21 d
    assert after["C5D1"][0] == D(2026, 3, 2)  # was 02-23
    assert after["C6D1"][0] == D(2026, 3, 23)  # was 03-16
    assert after["C36D1"][0] == D(2027, 12, 13)  # was 2027-12-06
    for n in range(4, 37):
        assert after[f"C{n}D1"][0] - before[f"C{n}D1"][0] == dt.timedelta(days=7)
    tumour = {code: dates for code, dates in before.items() if code.startswith("TA")}
    assert {code: after[code] for code in tumour} == tumour
    assert after["TA1"] == (D(2026, 1, 12), D(2026, 1, 5), D(2026, 1, 19))
    assert after["TA2"][0] == D(2026, 2, 23)


def test_correcting_a_recorded_visit_requires_a_reason(site_a, coordinator_a):
    subject = subject_on_treatment_since_december(site_a, coordinator_a)
    record(subject, "C3D1", coordinator_a, D(2026, 1, 19))
    before = snapshot(subject)

    with pytest.raises(ValidationError) as refused:
        record(subject, "C3D1", coordinator_a, D(2026, 1, 12), reason="   ")
    assert codes(refused.value) == {"reason": ["required"]}
    assert snapshot(subject) == before

    fixed = record(subject, "C3D1", coordinator_a, D(2026, 1, 12), reason="Typo: source says 12")
    assert fixed.actual_date == D(2026, 1, 12)
    assert schedule_of(subject)["C4D1"][0] == D(2026, 2, 2)  # back on the original plan
    event = AuditEvent.objects.filter(table_name="subjects_visit", record_pk=str(fixed.pk)).last()
    assert (event.action, event.reason, event.app_username) == (
        "UPDATE",
        "Typo: source says 12",
        "coord_a",
    )


def test_a_visit_date_in_the_future_is_refused(site_a, coordinator_a):
    subject = subject_on_treatment_since_december(site_a, coordinator_a)
    before = snapshot(subject)
    with pytest.raises(ValidationError) as refused:
        record(subject, "C6D1", coordinator_a, D(2026, 3, 3))
    assert codes(refused.value) == {"actual_date": ["future_date"]}
    assert snapshot(subject) == before
