"""crfs.services.save_crf: valid data stored and audited, every plausibility limit refused
both sides, corrections with a version and a reason, derived values at their boundaries
(worked out by hand from CTCAE v4.03 and the formulas' sources), the screening visit closed
when its CRFs are complete."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from audit.versioning import EditConflict
from crfs import services
from crfs.models import Ecg, Review
from crfs.registry import FORMS

D = dt.date
DAY = D(2026, 1, 5)  # C1D1


def vitals(**over):
    data = {
        "assessed_on": DAY,
        "systolic": 128,
        "diastolic": 82,
        "heart_rate": 76,
        "temperature": Decimal("36.8"),
        "weight": Decimal("72.0"),
        "height": None,
        "not_done_reason": "",
    }
    return data | over


def save(visit, key, values, by, **kw):
    return services.save_crf(visit=visit, form_key=key, by=by, values=values, **kw)


def codes(exc) -> dict:
    return {f: [e.code for e in errs] for f, errs in exc.value.error_dict.items()}


def test_vital_signs_stored_derived_and_audited(visit, coordinator_a):
    scr = visit("SCR")
    save(
        scr,
        "vital_signs",
        vitals(assessed_on=D(2025, 12, 22), weight=Decimal("80.0"), height=Decimal("170.0")),
        coordinator_a,
    )
    row = save(visit("C1D1"), "vital_signs", vitals(), coordinator_a)
    row.refresh_from_db()
    # Mosteller: sqrt(170 x 72 / 3600) = sqrt(3.4) = 1.8439 -> 1.84 m2 (screening height)
    assert row.bsa == Decimal("1.84")
    # 128/82: SBP 120-139 / DBP 80-89 is grade 1 (pre-hypertension); 36.8 C no fever
    assert (row.hypertension_grade, row.fever_grade) == (1, 0)
    # 72.0 kg against 80.0 kg: 10.0 % loss -> Weight loss grade 2 ("10 - <20%")
    assert (row.weight_term, row.weight_grade) == ("Weight loss", 2)
    event = AuditEvent.objects.filter(table_name="crfs_vitalsigns", record_pk=str(row.pk)).get()
    assert event.reason == "Vital signs recorded (C1D1)"
    assert event.action == "INSERT"


@pytest.mark.parametrize(
    ("bp", "grade"),
    # CTCAE v4.03 Hypertension (adult): G1 SBP 120-139 or DBP 80-89; G2 140-159 / 90-99;
    # G3 >= 160 / >= 100
    [
        ((119, 79), 0),
        ((120, 79), 1),
        ((139, 89), 1),
        ((140, 70), 2),
        ((130, 90), 2),
        ((159, 99), 2),
        ((160, 80), 3),
        ((150, 100), 3),
    ],
)
def test_hypertension_grade_boundaries(visit, coordinator_a, bp, grade):
    row = services.validate(
        FORMS["vital_signs"], visit("C1D1"), vitals(systolic=bp[0], diastolic=bp[1])
    )
    assert row.hypertension_grade == grade


@pytest.mark.parametrize(
    ("temperature", "grade"),
    # CTCAE v4.03 Fever: G1 38.0-39.0; G2 >39.0-40.0; G3 >40.0
    [("37.9", 0), ("38.0", 1), ("39.0", 1), ("39.1", 2), ("40.0", 2), ("40.1", 3)],
)
def test_fever_grade_boundaries(visit, coordinator_a, temperature, grade):
    row = services.validate(
        FORMS["vital_signs"], visit("C1D1"), vitals(temperature=Decimal(temperature))
    )
    assert row.fever_grade == grade


@pytest.mark.parametrize(
    ("weight", "term", "grade"),
    # baseline 80.0 kg: 5 % = 4 kg, 10 % = 8 kg, 20 % = 16 kg
    [
        ("76.1", "", 0),
        ("76.0", "Weight loss", 1),
        ("72.1", "Weight loss", 1),
        ("72.0", "Weight loss", 2),
        ("64.1", "Weight loss", 2),
        ("64.0", "Weight loss", 3),
        ("83.9", "", 0),
        ("84.0", "Weight gain", 1),
        ("88.0", "Weight gain", 2),
        ("96.0", "Weight gain", 3),
    ],
)
def test_weight_change_against_the_screening_weight(visit, coordinator_a, weight, term, grade):
    save(
        visit("SCR"),
        "vital_signs",
        vitals(assessed_on=D(2025, 12, 22), weight=Decimal("80.0"), height=Decimal("170.0")),
        coordinator_a,
    )
    row = services.validate(FORMS["vital_signs"], visit("C1D1"), vitals(weight=Decimal(weight)))
    assert (row.weight_term, row.weight_grade or 0) == (term, grade)


LIMITS = [
    # field, just below, lowest, highest, just above (PROTOCOL plausibility table, by hand)
    ("systolic", 49, 50, 300, 301),
    ("diastolic", 19, 20, 200, 201),
    ("heart_rate", 19, 20, 250, 251),
    ("temperature", Decimal("29.9"), Decimal("30.0"), Decimal("45.0"), Decimal("45.1")),
    ("weight", Decimal("19.9"), Decimal("20.0"), Decimal("300.0"), Decimal("300.1")),
    ("height", Decimal("99.9"), Decimal("100.0"), Decimal("230.0"), Decimal("230.1")),
]


@pytest.mark.parametrize(("field", "below", "low", "high", "above"), LIMITS)
def test_vital_sign_limits_refused_both_sides(visit, field, below, low, high, above):
    spec, c1 = FORMS["vital_signs"], visit("C1D1")
    pair = {"systolic": {"diastolic": 19 if field != "diastolic" else None}}
    for value in (low, high):
        over = {field: value}
        if field == "systolic":
            over["diastolic"] = 20  # lower than 50
        if field == "diastolic":
            over["systolic"] = 300  # higher than 200
        services.validate(spec, c1, vitals(**over))  # accepted
    for value in (below, above):
        with pytest.raises(ValidationError) as exc:
            services.validate(spec, c1, vitals(**{field: value}))
        assert codes(exc)[field] == ["implausible_value"]
        assert "expected" in exc.value.message_dict[field][0]
    del pair


@pytest.mark.parametrize(
    ("key", "field", "below", "low", "high", "above", "base"),
    [
        ("ecg", "qt", 199, 200, 700, 701, {"rr": 1000}),
        ("ecg", "rr", 239, 240, 3000, 3001, {"qt": 400}),
        ("ecg", "heart_rate", 19, 20, 250, 251, {"qt": 400}),
        (
            "thyroid_function",
            "tsh",
            Decimal("-0.001"),
            Decimal("0"),
            Decimal("1000"),
            Decimal("1000.001"),
            {"ft4": Decimal("15")},
        ),
        (
            "thyroid_function",
            "ft4",
            Decimal("0.49"),
            Decimal("0.5"),
            Decimal("300"),
            Decimal("300.01"),
            {"tsh": Decimal("2")},
        ),
        (
            "urinalysis",
            "protein_24h",
            Decimal("-0.01"),
            Decimal("0"),
            Decimal("50"),
            Decimal("50.01"),
            {"protein_dipstick": "2+"},
        ),
    ],
)
def test_other_limits_refused_both_sides(visit, key, field, below, low, high, above, base):
    spec, c1 = FORMS[key], visit("C1D1")
    blank = dict.fromkeys(spec.fields) | {"assessed_on": DAY}
    if key == "ecg":
        blank |= {"interpretation": "normal", "findings": ""}
    blank |= {"not_done_reason": ""} if "not_done_reason" in spec.fields else {}
    for value in (low, high):
        services.validate(spec, c1, blank | base | {field: value})
    for value in (below, above):
        with pytest.raises(ValidationError) as exc:
            services.validate(spec, c1, blank | base | {field: value})
        assert codes(exc)[field] == ["implausible_value"]


def test_a_measurement_left_empty_needs_a_reason(visit, coordinator_a):
    spec, c1 = FORMS["vital_signs"], visit("C1D1")
    with pytest.raises(ValidationError) as exc:
        services.validate(spec, c1, vitals(temperature=None))
    assert codes(exc) == {"temperature": ["required"]}
    row = services.validate(
        spec, c1, vitals(temperature=None, not_done_reason="thermometer broken")
    )
    assert row.fever_grade is None


def test_height_required_at_screening_and_diastolic_below_systolic(visit):
    spec = FORMS["vital_signs"]
    with pytest.raises(ValidationError) as exc:
        services.validate(spec, visit("SCR"), vitals(assessed_on=D(2025, 12, 22)))
    assert codes(exc) == {"height": ["required"]}
    with pytest.raises(ValidationError) as exc:
        services.validate(spec, visit("C1D1"), vitals(systolic=120, diastolic=120))
    assert codes(exc) == {"diastolic": ["diastolic_not_below_systolic"]}


def test_assessment_date_not_before_consent_nor_in_the_future(visit):
    spec, c1 = FORMS["ecog"], visit("C1D1")
    services.validate(spec, c1, {"assessed_on": D(2025, 12, 20), "score": 1})  # consent day
    services.validate(spec, c1, {"assessed_on": D(2026, 3, 2), "score": 1})  # today
    with pytest.raises(ValidationError) as exc:
        services.validate(spec, c1, {"assessed_on": D(2025, 12, 19), "score": 1})
    assert codes(exc) == {"assessed_on": ["before_consent"]}
    with pytest.raises(ValidationError) as exc:
        services.validate(spec, c1, {"assessed_on": D(2026, 3, 3), "score": 1})
    assert codes(exc) == {"assessed_on": ["future_date"]}


def test_correction_needs_version_and_reason_and_is_audited(visit, coordinator_a):
    c1 = visit("C1D1")
    first = save(c1, "ecog", {"assessed_on": DAY, "score": 1}, coordinator_a)
    with pytest.raises(ValidationError) as exc:
        save(c1, "ecog", {"assessed_on": DAY, "score": 2}, coordinator_a)
    assert codes(exc) == {"__all__": ["already_recorded"]}
    with pytest.raises(ValidationError) as exc:
        save(c1, "ecog", {"assessed_on": DAY, "score": 2}, coordinator_a, expected_version=1)
    assert codes(exc) == {"reason": ["required"]}
    with pytest.raises(EditConflict):
        save(
            c1,
            "ecog",
            {"assessed_on": DAY, "score": 2},
            coordinator_a,
            expected_version=7,
            reason="Misread the source",
        )
    fixed = save(
        c1,
        "ecog",
        {"assessed_on": DAY, "score": 2},
        coordinator_a,
        expected_version=1,
        reason="Misread the source",
    )
    assert (fixed.pk, fixed.score, fixed.version) == (first.pk, 2, 2)
    update = AuditEvent.objects.filter(table_name="crfs_ecog", action="UPDATE").get()
    assert update.reason == "Misread the source"
    with pytest.raises(ValidationError) as exc:
        save(
            visit("C2D1"),
            "ecog",
            {"assessed_on": DAY, "score": 2},
            coordinator_a,
            expected_version=1,
            reason="x",
        )
    assert codes(exc) == {"__all__": ["not_recorded"]}


def test_only_a_coordinator_or_investigator_of_the_site_writes(
    visit, coordinator_b, monitor_a, data_manager
):
    for user in (coordinator_b, monitor_a, data_manager):
        with pytest.raises(PermissionDenied):
            save(visit("C1D1"), "ecog", {"assessed_on": DAY, "score": 1}, user)
    assert not services.current_record(visit("C1D1"), FORMS["ecog"])


def test_a_form_the_visit_kind_does_not_have_is_refused(visit, coordinator_a):
    with pytest.raises(ValidationError) as exc:
        save(visit("SCR"), "ecog", {"assessed_on": D(2025, 12, 22), "score": 1}, coordinator_a)
    assert codes(exc) == {"__all__": ["form_not_expected"]}


@pytest.mark.parametrize(
    ("qt", "rate", "qtcf", "grade"),
    # RR 1000 ms (60/min): QTcF = QT. CTCAE v4.03 QTc: G1 450-480; G2 481-500; G3 >= 501
    # on two separate ECGs (one ECG >= 501 is graded 2 until a second confirms it)
    [
        (449, {"rr": 1000}, 449, 0),
        (450, {"rr": 1000}, 450, 1),
        (480, {"rr": 1000}, 480, 1),
        (481, {"rr": 1000}, 481, 2),
        (500, {"heart_rate": 60}, 500, 2),
        (501, {"rr": 1000}, 501, 2),
        # RR 800 ms: 0.8^(1/3) = 0.928318; 400 / 0.928318 = 430.89 -> 431
        (400, {"rr": 800}, 431, 0),
    ],
)
def test_qtcf_and_its_grade(visit, qt, rate, qtcf, grade):
    values = {
        "assessed_on": DAY,
        "qt": qt,
        "rr": None,
        "heart_rate": None,
        "interpretation": "normal",
        "findings": "",
    } | rate
    row = services.validate(FORMS["ecg"], visit("C1D1"), values)
    assert (row.qtcf, row.qtc_grade) == (qtcf, grade)


def test_qtc_grade_3_needs_two_separate_ecgs(visit, coordinator_a):
    ecg = {
        "qt": 510,
        "rr": 1000,
        "heart_rate": None,
        "interpretation": "abnormal_cs",
        "findings": "QTc prolonged",
    }
    first = save(visit("C1D1"), "ecg", {"assessed_on": DAY} | ecg, coordinator_a)
    assert first.qtc_grade == 2 and "second ECG" in first.qtc_note
    save(visit("C3D1"), "ecg", {"assessed_on": D(2026, 2, 16)} | ecg, coordinator_a)
    assert Ecg.objects.get(visit__code="C3D1").qtc_grade == 3
    first.refresh_from_db()  # the first ECG is confirmed by the second, re-derived
    assert first.qtc_grade == 3


def test_ecg_rr_or_heart_rate_and_findings_when_significant(visit):
    spec, c1 = FORMS["ecg"], visit("C1D1")
    base = {"assessed_on": DAY, "qt": 400, "interpretation": "normal", "findings": ""}
    with pytest.raises(ValidationError) as exc:
        services.validate(spec, c1, base | {"rr": None, "heart_rate": None})
    assert codes(exc) == {"rr": ["rr_or_heart_rate"]}
    with pytest.raises(ValidationError) as exc:
        services.validate(spec, c1, base | {"rr": 1000, "heart_rate": 60})
    assert codes(exc) == {"rr": ["rr_or_heart_rate"]}
    with pytest.raises(ValidationError) as exc:
        services.validate(
            spec, c1, base | {"rr": 1000, "heart_rate": None, "interpretation": "abnormal_cs"}
        )
    assert codes(exc) == {"findings": ["required"]}


@pytest.mark.parametrize(
    ("dipstick", "g24", "grade"),
    # CTCAE v4.03 Proteinuria: G1 1+ or < 1.0 g/24 h; G2 2+-3+ or 1.0-3.4 g/24 h; G3 >= 3.5
    [
        ("negative", None, 0),
        ("1+", None, 1),
        ("2+", "0.99", 1),
        ("2+", "1.0", 2),
        ("3+", "3.49", 2),
        ("3+", "3.5", 3),
    ],
)
def test_proteinuria_grade(visit, dipstick, g24, grade):
    values = {
        "assessed_on": DAY,
        "protein_dipstick": dipstick,
        "protein_24h": Decimal(g24) if g24 else None,
        "not_done_reason": "",
    }
    row = services.validate(FORMS["urinalysis"], visit("C1D1"), values)
    assert row.proteinuria_grade == grade


def test_24h_protein_asked_from_two_plus(visit):
    spec, c1 = FORMS["urinalysis"], visit("C1D1")
    values = {"assessed_on": DAY, "protein_24h": None, "not_done_reason": ""}
    services.validate(spec, c1, values | {"protein_dipstick": "1+"})
    with pytest.raises(ValidationError) as exc:
        services.validate(spec, c1, values | {"protein_dipstick": "2+"})
    assert codes(exc) == {"protein_24h": ["required"]}
    row = services.validate(
        spec, c1, values | {"protein_dipstick": "2+", "not_done_reason": "patient declined"}
    )
    assert row.proteinuria_grade == 2  # from the dipstick


def test_physical_exam_abnormal_needs_findings_and_reviews(visit, coordinator_a):
    spec, c1 = FORMS["physical_exam"], visit("C1D1")
    with pytest.raises(ValidationError) as exc:
        services.validate(spec, c1, {"assessed_on": DAY, "result": "abnormal", "findings": " "})
    assert codes(exc) == {"findings": ["required"]}
    review = save(
        c1, "ae_review", {"assessed_on": DAY, "answer": "none", "comment": ""}, coordinator_a
    )
    assert review.kind == Review.Kind.AES
    save(
        c1,
        "con_med_review",
        {"assessed_on": DAY, "answer": "unchanged", "comment": ""},
        coordinator_a,
    )
    assert Review.objects.filter(visit=c1).count() == 2


def test_completeness_of_a_cycle_visit(visit, coordinator_a):
    from crfs.soa import VisitState

    c2 = visit("C2D1")  # no ECG / thyroid at C2
    rows, state = services.visit_forms(c2)
    assert [r["key"] for r in rows] == [
        "vital_signs",
        "ecog",
        "physical_exam",
        "lab_panel",
        "urinalysis",
        "con_med_review",
        "ae_review",
        "dispensing",
    ]
    assert state.state is VisitState.NOT_STARTED and state.required == 8
    day = D(2026, 1, 26)
    save(c2, "vital_signs", vitals(assessed_on=day), coordinator_a)
    save(c2, "ecog", {"assessed_on": day, "score": 0}, coordinator_a)
    _rows, state = services.visit_forms(c2)
    assert state.state is VisitState.INCOMPLETE and state.complete == 2
    assert "lab_panel" in state.missing


def test_screening_visit_done_when_its_crfs_are_complete(visit, coordinator_a):
    from assessments.services import record_baseline

    scr = visit("SCR")
    assert scr.actual_date is None  # signed and enrolled, CRFs of issue 13 still missing
    day = D(2025, 12, 22)
    record_baseline(
        subject=scr.subject,
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
    save(scr, "vital_signs", vitals(assessed_on=day, height=Decimal("170.0")), coordinator_a)
    save(
        scr,
        "physical_exam",
        {"assessed_on": day, "result": "normal", "findings": ""},
        coordinator_a,
    )
    save(
        scr,
        "ecg",
        {
            "assessed_on": day,
            "qt": 400,
            "rr": 1000,
            "heart_rate": None,
            "interpretation": "normal",
            "findings": "",
        },
        coordinator_a,
    )
    save(
        scr, "con_med_review", {"assessed_on": day, "answer": "none", "comment": ""}, coordinator_a
    )
    scr.refresh_from_db()
    assert scr.actual_date is None  # medical history not reviewed yet
    save(
        scr,
        "medical_history_review",
        {"assessed_on": day, "answer": "none", "comment": ""},
        coordinator_a,
    )
    scr.refresh_from_db()
    # dated by the investigator's signature (enrol() signed on 2026-01-03, the frozen clock
    # then being 2026-03-02: the signature's own date is what counts)
    from eligibility.services import current_signature

    signed = current_signature(scr.subject).signed_at.astimezone(scr.subject.site.tz).date()
    assert scr.actual_date == signed
    assert services.visit_forms(scr)[1].state.value == "complete"


def test_the_baseline_as_last_screening_crf_closes_the_visit(visit, coordinator_a):
    from assessments.services import record_baseline

    scr, day = visit("SCR"), D(2025, 12, 22)
    save(scr, "vital_signs", vitals(assessed_on=day, height=Decimal("170.0")), coordinator_a)
    save(
        scr,
        "physical_exam",
        {"assessed_on": day, "result": "normal", "findings": ""},
        coordinator_a,
    )
    save(
        scr,
        "ecg",
        {
            "assessed_on": day,
            "qt": 400,
            "rr": 1000,
            "heart_rate": None,
            "interpretation": "normal",
            "findings": "",
        },
        coordinator_a,
    )
    for key in ("con_med_review", "medical_history_review"):
        save(scr, key, {"assessed_on": day, "answer": "none", "comment": ""}, coordinator_a)
    scr.refresh_from_db()
    assert scr.actual_date is None  # the baseline tumour assessment is missing
    record_baseline(
        subject=scr.subject,
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
    scr.refresh_from_db()
    assert scr.actual_date is not None
