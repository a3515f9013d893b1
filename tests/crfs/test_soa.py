"""The schedule of assessments (crfs.soa), worked out by hand from docs/PROTOCOL.md section
"Schedule of assessments": which CRFs each visit kind needs, and when a visit is complete."""

import datetime as dt

import pytest

from alter_s006 import protocol as P
from crfs import soa
from crfs.registry import FORMS
from crfs.soa import FormState as F
from crfs.soa import Need, VisitState

R = Need.REQUIRED


def keys(kind, number=0):
    return [k for k, _ in soa.expected_forms(kind, number)]


def test_every_form_of_the_table_is_in_the_registry():
    for kind, rows in P.SCHEDULE_OF_ASSESSMENTS.items():
        for form, _need in rows:
            assert form in FORMS, (kind, form)


def test_screening_needs_its_crfs_and_the_signature():
    assert keys("screening") == [
        "demographics",
        "medical_history_review",
        "screening_crf",
        "vital_signs",
        "physical_exam",
        "ecg",
        "con_med_review",
        "baseline_tumour",
        "eligibility_signature",
    ]
    assert all(need is R for _k, need in soa.expected_forms("screening"))


@pytest.mark.parametrize(
    ("cycle", "ecg_and_thyroid"),
    # every 2 cycles from C1: C1, C3, C5 yes; C2, C4, C36 no; C35 yes
    [(1, True), (2, False), (3, True), (4, False), (5, True), (35, True), (36, False)],
)
def test_cycle_day_1_ecg_and_thyroid_every_second_cycle(cycle, ecg_and_thyroid):
    got = keys("cycle", cycle)
    base = ["vital_signs", "ecog", "physical_exam", "lab_panel", "urinalysis"]
    assert got[:5] == base
    assert ("ecg" in got) is ecg_and_thyroid
    assert ("thyroid_function" in got) is ecg_and_thyroid
    assert got[-3:] == ["con_med_review", "ae_review", "dispensing"]


def test_ecg_thyroid_cycle_boundaries():
    assert not soa.ecg_thyroid_cycle(0)
    assert soa.ecg_thyroid_cycle(1)
    assert not soa.ecg_thyroid_cycle(2)
    assert soa.ecg_thyroid_cycle(3)
    # every 3 cycles: C1, C4, C7
    assert [n for n in range(1, 8) if soa.ecg_thyroid_cycle(n, every=3)] == [1, 4, 7]


def test_other_visit_kinds():
    assert keys("tumour_assessment") == ["recist_timepoint"]
    assert keys("end_of_treatment") == ["end_of_treatment", "vital_signs", "ecog", "lab_panel"]
    assert keys("safety_follow_up") == ["ae_review", "con_med_review", "ae_outcome_review"]
    assert keys("survival_follow_up") == ["survival_follow_up"]
    assert keys("no_such_kind") == []


def test_unknown_need_or_condition_is_an_error_not_a_silent_skip():
    with pytest.raises(soa.ScheduleError):
        soa.expected_forms("cycle", 1, schedule={"cycle": (("ecg", "if:full_moon"),)})
    with pytest.raises(soa.ScheduleError):
        soa.expected_forms("cycle", 1, schedule={"cycle": (("ecg", "mandatory"),)})
    optional = soa.expected_forms("cycle", 1, schedule={"cycle": (("ecg", "optional"),)})
    assert optional == [("ecg", Need.OPTIONAL)]


EXPECTED = [("a", R), ("b", R), ("c", Need.OPTIONAL)]


def test_complete_only_when_every_required_form_is_complete():
    full = soa.visit_completeness(EXPECTED, {"a": F.COMPLETE, "b": F.COMPLETE})
    assert full.state is VisitState.COMPLETE and (full.required, full.complete) == (2, 2)
    # the optional form never holds the visit back
    assert full.missing == () and full.incomplete == ()


def test_one_required_missing_or_incomplete_is_incomplete():
    one = soa.visit_completeness(EXPECTED, {"a": F.COMPLETE, "c": F.COMPLETE})
    assert one.state is VisitState.INCOMPLETE and one.missing == ("b",) and one.complete == 1
    part = soa.visit_completeness(EXPECTED, {"a": F.COMPLETE, "b": F.INCOMPLETE})
    assert part.state is VisitState.INCOMPLETE and part.incomplete == ("b",)


def test_nothing_saved_is_not_started_and_a_missed_visit_expects_nothing():
    assert soa.visit_completeness(EXPECTED, {}).state is VisitState.NOT_STARTED
    # only the optional one saved: still not started (no required CRF saved)
    assert soa.visit_completeness(EXPECTED, {"c": F.COMPLETE}).state is VisitState.NOT_STARTED
    missed = soa.visit_completeness(EXPECTED, {}, missed=True)
    assert missed.state is VisitState.NOT_EXPECTED and missed.required == 0


def test_days_incomplete_after_the_allowed_entry_time():
    held = dt.date(2026, 3, 2)
    allowed = P.CRF_COMPLETION_EXPECTED_DAYS
    on_time = held + dt.timedelta(days=allowed)
    assert soa.days_incomplete(held, VisitState.INCOMPLETE, on_time) is None
    assert soa.days_incomplete(held, VisitState.INCOMPLETE, on_time + dt.timedelta(days=1)) == 1
    assert soa.days_incomplete(held, VisitState.NOT_STARTED, on_time + dt.timedelta(days=3)) == 3
    # complete, missed, or not held: never late
    assert soa.days_incomplete(held, VisitState.COMPLETE, held + dt.timedelta(days=99)) is None
    assert soa.days_incomplete(held, VisitState.NOT_EXPECTED, held + dt.timedelta(days=99)) is None
    assert soa.days_incomplete(None, VisitState.INCOMPLETE, held) is None
