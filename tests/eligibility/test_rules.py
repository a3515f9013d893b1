"""Tests of eligibility.rules against PROTOCOL.md "Eligibility", boundaries worked out by hand.

Every expected status and number below was worked out on paper from PROTOCOL.md and the limits
in alter_s006/protocol.py (the working is in the comments); none was copied from what the code
prints. Calendar reminders: February 2026 and 2027 have 28 days, 2028 and 2008 and 1956 are
leap years, 2026-03-02 is a Monday.

The base subject (``eligible_input()``) is a 45-year-old woman of childbearing potential who
passes all 25 criteria; each test changes only what it is about.
"""

from __future__ import annotations

from dataclasses import fields, replace
from datetime import date
from decimal import Decimal

import pytest

from eligibility import rules
from eligibility.rules import (
    CRITERIA,
    HISTOLOGY_ALLOWED,
    HISTOLOGY_EXCLUDED,
    CriterionResult,
    Kind,
    Lab,
    RefRange,
    ScreeningInput,
    Status,
    Verdict,
    age_on,
    evaluate,
    select_reference_range,
)

D = Decimal
MET, NOT_MET, NE, ATTESTED = Status.MET, Status.NOT_MET, Status.NOT_EVALUABLE, Status.ATTESTED
CODES = [f"I0{n}" for n in range(1, 10)] + [f"E{n:02d}" for n in range(1, 17)]


def d(text: str) -> date:
    """Parse an ISO date written out in a test."""
    return date.fromisoformat(text)


def lab(value: str, unit: str) -> Lab:
    return Lab(D(value), unit)


def rng(analyte: str, unit: str, uln: str, *, sex: str | None = None, since="2020-01-01"):
    return RefRange(analyte, unit, None, D(uln), sex, d(since))


# ULNs chosen round so the multiples are easy by hand:
# creatinine 1.5 x 100 = 150 umol/L; BUN 2.5 x 8 = 20 mmol/L; bilirubin 1.5 x 20 = 30 umol/L;
# AST/ALT 2.5 x 40 = 100 U/L, 5 x 40 = 200 U/L.
RANGES = {
    "creatinine": rng("creatinine", "umol/L", "100"),
    "bun": rng("bun", "mmol/L", "8"),
    "bilirubin": rng("bilirubin", "umol/L", "20"),
    "ast": rng("ast", "U/L", "40"),
    "alt": rng("alt", "U/L", "40"),
}

_BASE = ScreeningInput(
    sex="F",
    date_of_birth=d("1980-06-15"),  # 45 at consent 2026-02-02 (46th birthday in June)
    consent_date=d("2026-02-02"),
    first_procedure_date=d("2026-02-02"),  # same day as consent: allowed
    enrolment_date=d("2026-03-02"),
    planned_c1d1=d("2026-03-02"),
    ecog=1,
    expected_survival_attested=True,
    pathologically_confirmed=True,
    histology="leiomyosarcoma",
    advanced_or_metastatic=True,
    disease_status="measurable",
    liver_metastases=False,
    brain_metastases="none",
    anthracycline_first_line=True,
    anthracycline_cycles=6,
    best_response="SD",
    last_systemic_therapy_date=d("2025-12-15"),  # 77 days before enrolment
    systemic_therapy_planned=False,
    radiotherapy_type="none",
    surgery_none=True,
    prior_anlotinib=False,
    other_trial_none=True,
    lab_date=d("2026-02-20"),
    hb=lab("120", "g/L"),
    anc=lab("3.2", "10^9/L"),
    plt=lab("210", "10^9/L"),
    creatinine=lab("70", "umol/L"),
    creatinine_clearance=lab("95", "mL/min"),
    bun=lab("5", "mmol/L"),
    bilirubin=lab("10", "umol/L"),
    ast=lab("25", "U/L"),
    alt=lab("30", "U/L"),
    albumin=lab("40", "g/L"),
    lvef_percent=D("62"),
    echo_date=d("2026-02-18"),
    sbp=122,
    dbp=78,
    on_antihypertensives=False,
    qtc_ms=430,
    fasting_glucose=lab("5.4", "mmol/L"),
    urine_protein_dipstick=0,
    hbsag_positive=False,
    hcv_rna_positive=False,
    childbearing_potential=True,
    lactating=False,
    pregnancy_test_date=d("2026-02-27"),  # 27 Feb -> 2 Mar = 3 days before C1D1
    pregnancy_test_type="serum",
    pregnancy_test_result="negative",
    contraception_agreed=True,
    other_malignancy_5y=False,
    unresolved_toxicity_gt1=False,
    cannot_take_oral=False,
    effusion_dyspnoea_gt2=False,
    thyroid_dysfunction=False,
    cardiac_disease=False,
    active_infection_ge2=False,
    infection_needing_antimicrobials=False,
    seizures_needing_treatment=False,
    major_vessel_invasion_risk=False,
    unhealed_wound_or_fracture=False,
    bleeding_gt3_4w=False,
    thrombosis_6m=False,
    psychiatric_or_substance=False,
    investigator_unsafe_judgement=False,
)


def eligible_input(**overrides) -> ScreeningInput:
    """The fully eligible base subject with ``overrides`` applied."""
    return replace(_BASE, **overrides)


def verdict(ranges=None, **overrides) -> Verdict:
    return evaluate(eligible_input(**overrides), RANGES if ranges is None else ranges)


def result(code: str, ranges=None, **overrides) -> CriterionResult:
    return next(r for r in verdict(ranges, **overrides).results if r.code == code)


def not_passing(v: Verdict) -> set[str]:
    return {r.code for r in v.results if not r.passes}


# --- Shape --------------------------------------------------------------------------------------


def test_statuses_kinds_and_criteria_list():
    assert [s.value for s in Status] == ["met", "not_met", "not_evaluable", "attested"]
    assert [k.value for k in Kind] == ["inclusion", "exclusion"]
    assert [code for code, _k, _t in CRITERIA] == CODES
    assert all(kind is Kind.INCLUSION for code, kind, _t in CRITERIA if code[0] == "I")
    assert all(kind is Kind.EXCLUSION for code, kind, _t in CRITERIA if code[0] == "E")
    assert all(title.strip() for _c, _k, title in CRITERIA)


def test_histology_lists_are_disjoint_and_complete():
    assert set(HISTOLOGY_ALLOWED) == {
        "synovial_sarcoma",
        "leiomyosarcoma",
        "liposarcoma",
        "angiosarcoma",
        "other_sts",
    }
    # PROTOCOL.md I05 lists ten excluded subtypes after "EXCEPT".
    assert len(HISTOLOGY_EXCLUDED) == 10
    assert not set(HISTOLOGY_ALLOWED) & set(HISTOLOGY_EXCLUDED)


def test_every_input_field_is_optional():
    empty = ScreeningInput()
    for f in fields(ScreeningInput):
        value = getattr(empty, f.name)
        assert value in (None, "", Lab(None, None)), f.name


# --- The whole verdict ----------------------------------------------------------------------------


def test_fully_eligible_subject_passes_all_25():
    v = verdict()
    assert [r.code for r in v.results] == CODES
    assert v.eligible
    assert v.failing == () and v.missing == ()
    statuses = {r.code: r.status for r in v.results}
    # The three judgement criteria are attested, the other 22 met.
    assert {c for c, s in statuses.items() if s is ATTESTED} == {"I04", "E11", "E16"}
    assert sum(s is MET for s in statuses.values()) == 22
    assert all(r.reason and "\n" not in r.reason for r in v.results)
    assert all(r.passes for r in v.results)


@pytest.mark.parametrize(
    "overrides",
    [
        # A man: no pregnancy test or lactation data needed.
        {
            "sex": "M",
            "childbearing_potential": None,
            "lactating": None,
            "pregnancy_test_date": None,
            "pregnancy_test_type": None,
            "pregnancy_test_result": None,
        },
        # A woman without childbearing potential: only contraception.
        {
            "childbearing_potential": False,
            "lactating": None,
            "pregnancy_test_date": None,
            "pregnancy_test_result": None,
        },
        # Year of birth only, far from both limits: 1980 -> 45 or 46 at consent.
        {"date_of_birth": None, "year_of_birth": 1980},
    ],
)
def test_other_eligible_subjects(overrides):
    assert verdict(**overrides).eligible


def test_empty_form_is_not_evaluable_everywhere():
    v = evaluate(ScreeningInput(), RANGES)
    assert [r.code for r in v.results] == CODES
    assert all(r.status is NE for r in v.results), [r for r in v.results if r.status is not NE]
    assert not v.eligible
    assert len(v.missing) == 25


@pytest.mark.parametrize(
    ("code", "overrides", "not_passing_codes"),
    [
        ("I01", {"first_procedure_date": None}, {"I01"}),
        ("I02", {"date_of_birth": None}, {"I02"}),
        ("I03", {"ecog": None}, {"I03"}),
        ("I04", {"expected_survival_attested": None}, {"I04"}),
        ("I05", {"histology": None}, {"I05"}),
        ("I06", {"disease_status": None}, {"I06"}),
        ("I07", {"best_response": None}, {"I07"}),
        ("I08", {"hb": Lab(None, None)}, {"I08"}),
        ("I09", {"contraception_agreed": None}, {"I09"}),
        ("E01", {"prior_anlotinib": None}, {"E01"}),
        ("E02", {"other_malignancy_5y": None}, {"E02"}),
        ("E03", {"last_systemic_therapy_date": None}, {"E03"}),
        ("E04", {"unresolved_toxicity_gt1": None}, {"E04"}),
        ("E05", {"cannot_take_oral": None}, {"E05"}),
        ("E06", {"effusion_dyspnoea_gt2": None}, {"E06"}),
        ("E07", {"brain_metastases": None}, {"E07"}),
        ("E08", {"thyroid_dysfunction": None}, {"E08"}),
        ("E09", {"qtc_ms": None}, {"E09"}),
        ("E10", {"surgery_none": None}, {"E10"}),
        ("E11", {"major_vessel_invasion_risk": None}, {"E11"}),
        ("E12", {"bleeding_gt3_4w": None}, {"E12"}),
        ("E13", {"thrombosis_6m": None}, {"E13"}),
        ("E14", {"psychiatric_or_substance": None}, {"E14"}),
        ("E15", {"other_trial_none": None}, {"E15"}),
        ("E16", {"investigator_unsafe_judgement": None}, {"E16"}),
        # Fields several rules read: every rule that needs them says so.
        ("I01", {"consent_date": None}, {"I01", "I02"}),
        ("E03", {"enrolment_date": None}, {"E03"}),
        ("I09", {"planned_c1d1": None}, {"I09"}),
        ("I09", {"sex": None}, {"I09"}),  # QTc 430 is below both limits, so E09 needs no sex
        ("I08", {"alt": Lab(None, None)}, {"I08"}),
        ("E09", {"fasting_glucose": Lab(None, None)}, {"E09"}),
    ],
)
def test_missing_value_is_not_evaluable(code, overrides, not_passing_codes):
    v = verdict(**overrides)
    assert next(r for r in v.results if r.code == code).status is NE
    assert not_passing(v) == not_passing_codes
    assert {r.code for r in v.missing} == not_passing_codes
    assert not v.eligible


def test_several_failures_all_reported_and_listed_first():
    v = verdict(
        ecog=3,  # I03 fails
        prior_anlotinib=True,  # E01 fails
        hb=lab("70", "g/L"),  # I08 fails (Hb)
        plt=lab("50", "10^9/L"),  # I08 fails (PLT) too
        qtc_ms=None,  # E09 not evaluable
        thrombosis_6m=None,  # E13 not evaluable
    )
    assert not v.eligible
    assert [r.code for r in v.failing] == ["I03", "I08", "E01"]
    assert [r.code for r in v.missing] == ["E09", "E13"]
    order = [r.code for r in v.checklist()]
    rest = [c for c in CODES if c not in {"I03", "I08", "E01", "E09", "E13"}]
    assert order == ["I03", "I08", "E01", "E09", "E13", *rest]
    i08 = next(r for r in v.results if r.code == "I08")
    # Both failing labs are named: 70 < 80 g/L and 50 < 80 x10^9/L.
    assert "Hb 70 g/L; needs >= 80 g/L" in i08.reason
    assert "PLT 50 10^9/L; needs >= 80 10^9/L" in i08.reason


def test_checklist_puts_a_later_failure_before_an_earlier_gap():
    # I01 and I06 not evaluable, E05 and E14 failing: failures first although later in order.
    v = verdict(
        first_procedure_date=None,
        disease_status=None,
        cannot_take_oral=True,
        psychiatric_or_substance=True,
    )
    order = [r.code for r in v.checklist()]
    assert order[:4] == ["E05", "E14", "I01", "I06"]
    assert order[4:] == [c for c in CODES if c not in {"E05", "E14", "I01", "I06"}]


def test_checklist_of_an_eligible_subject_is_protocol_order():
    assert [r.code for r in verdict().checklist()] == CODES


def test_failing_part_wins_over_missing_part_in_one_criterion():
    # I07: cycles 3 < 4 fails, best response missing; the criterion is NOT_MET, naming the
    # failing part only.
    r = result("I07", anthracycline_cycles=3, best_response=None)
    assert r.status is NOT_MET
    assert "3 anthracycline cycles; needs >= 4" in r.reason
    assert "best response" not in r.reason


# --- I01 consent ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("consent", "first", "expected"),
    [
        ("2026-02-02", "2026-02-02", MET),  # same day
        ("2026-02-01", "2026-02-02", MET),
        ("2026-02-03", "2026-02-02", NOT_MET),  # procedure the day before consent
    ],
)
def test_i01_consent_before_first_procedure(consent, first, expected):
    r = result("I01", consent_date=d(consent), first_procedure_date=d(first))
    assert r.status is expected


# --- I02 age --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "consent", "expected"),
    [
        ("2008-02-02", "2026-02-02", MET),  # 18th birthday on consent day -> 18
        ("2008-02-03", "2026-02-02", NOT_MET),  # 18th birthday the next day -> 17
        ("2008-02-01", "2026-02-02", MET),  # 18 and a day
        ("1955-02-03", "2026-02-02", MET),  # 71st birthday the next day -> still 70
        ("1955-02-02", "2026-02-02", NOT_MET),  # 71st birthday on consent day -> 71
        ("1956-02-02", "2026-02-02", MET),  # 70th birthday on consent day -> 70
        # Leap-day births (1 March convention): 2026 is not a leap year, so someone born
        # 2008-02-29 turns 18 on 2026-03-01, not on 2026-02-28.
        ("2008-02-29", "2026-02-28", NOT_MET),  # 17
        ("2008-02-29", "2026-03-01", MET),  # 18
        # Born 1956-02-29: 71 on 2027-03-01 (2027 not leap); on 2027-02-28 still 70.
        ("1956-02-29", "2027-02-28", MET),
        ("1956-02-29", "2027-03-01", NOT_MET),
    ],
)
def test_i02_age_boundaries(born, consent, expected):
    r = result("I02", date_of_birth=d(born), consent_date=d(consent), first_procedure_date=None)
    assert r.status is expected


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        ("2008-02-29", "2024-02-28", 15),  # 2024 is leap: birthday 29 Feb not reached
        ("2008-02-29", "2024-02-29", 16),
        ("2008-02-29", "2025-02-28", 16),  # 2025 not leap: birthday is 1 March
        ("2008-02-29", "2025-03-01", 17),
        ("1980-06-15", "2026-06-14", 45),
        ("1980-06-15", "2026-06-15", 46),
        ("1980-12-31", "2026-01-01", 45),
    ],
)
def test_age_on(born, on, age):
    assert age_on(d(born), d(on)) == age


@pytest.mark.parametrize(
    ("year", "consent", "expected"),
    [
        ("1980", "2026-02-02", MET),  # 45 or 46: both inside
        ("2007", "2026-01-01", MET),  # 18 or 19
        ("1956", "2026-02-02", MET),  # 69 or 70
        ("2008", "2026-02-02", NE),  # 17 or 18: straddles the lower limit
        ("1955", "2026-02-02", NE),  # 70 or 71: straddles the upper limit
        ("2009", "2026-02-02", NOT_MET),  # 16 or 17
        ("1954", "2026-02-02", NOT_MET),  # 71 or 72
        # On 31 December every birthday of the year has passed: the age is certain.
        ("2008", "2026-12-31", MET),  # exactly 18
        ("1955", "2026-12-31", NOT_MET),  # exactly 71
    ],
)
def test_i02_year_of_birth_only(year, consent, expected):
    r = result(
        "I02",
        date_of_birth=None,
        year_of_birth=int(year),
        consent_date=d(consent),
        first_procedure_date=None,
    )
    assert r.status is expected
    if expected is NE:
        assert "full date of birth needed" in r.reason


def test_i02_reason_and_inconsistent_birth_data():
    assert result("I02").reason == "age 45 at consent 2026-02-02 (born 1980-06-15); needs 18-70"
    assert result("I02", year_of_birth=1981).status is NE  # disagrees with 1980-06-15
    assert result("I02", date_of_birth=d("2026-02-03")).status is NE  # born after consent


# --- I03 / I04 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ecog", "expected"),
    [(0, MET), (1, MET), (2, MET), (3, NOT_MET), (4, NOT_MET), (5, NOT_MET), (6, NE), (-1, NE)],
)
def test_i03_ecog(ecog, expected):
    assert result("I03", ecog=ecog).status is expected


@pytest.mark.parametrize(("answer", "expected"), [(True, ATTESTED), (False, NOT_MET), (None, NE)])
def test_i04_expected_survival_judgement(answer, expected):
    r = result("I04", expected_survival_attested=answer)
    assert r.status is expected
    assert r.passes is (expected is ATTESTED)


# --- I05 histology --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code", ["synovial_sarcoma", "leiomyosarcoma", "liposarcoma", "angiosarcoma"]
)
def test_i05_named_subtypes_are_eligible(code):
    assert result("I05", histology=code).status is MET


@pytest.mark.parametrize("code", sorted(HISTOLOGY_EXCLUDED))
def test_i05_excluded_subtypes_are_named(code):
    r = result("I05", histology=code)
    assert r.status is NOT_MET
    assert HISTOLOGY_EXCLUDED[code] in r.reason


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"histology": "other_sts", "histology_other": "Alveolar soft part sarcoma"}, MET),
        ({"histology": "other_sts", "histology_other": "   "}, NE),  # not specified
        ({"histology": "other_sts"}, NE),
        ({"histology": "kaposi"}, NE),  # unknown code
        ({"pathologically_confirmed": False}, NOT_MET),
        ({"pathologically_confirmed": None}, NE),
        ({"advanced_or_metastatic": False}, NOT_MET),
        ({"advanced_or_metastatic": None}, NE),
    ],
)
def test_i05_other_parts(overrides, expected):
    assert result("I05", **overrides).status is expected


def test_i05_every_failing_part_listed():
    r = result("I05", pathologically_confirmed=False, histology="gist")
    assert r.status is NOT_MET
    assert "pathologically confirmed: no" in r.reason
    assert "Gastrointestinal stromal tumour (GIST)" in r.reason


# --- I06 / I07 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [("measurable", MET), ("evaluable", MET), ("none", NOT_MET), ("unknown", NE)],
)
def test_i06_disease_status(status, expected):
    assert result("I06", disease_status=status).status is expected


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"anthracycline_cycles": 4}, MET),  # exactly 4
        ({"anthracycline_cycles": 3}, NOT_MET),
        ({"anthracycline_cycles": None}, NE),
        ({"best_response": "PR"}, MET),
        ({"best_response": "SD"}, MET),
        ({"best_response": "CR"}, NOT_MET),
        ({"best_response": "PD"}, NOT_MET),
        ({"best_response": "NE"}, NE),  # not a response category here
        ({"anthracycline_first_line": False}, NOT_MET),
        ({"anthracycline_first_line": None}, NE),
    ],
)
def test_i07_prior_anthracycline(overrides, expected):
    assert result("I07", **overrides).status is expected


def test_i07_reason_names_the_response():
    assert result("I07", best_response="CR").reason == "best response CR; needs PR or SD"


# --- I08 organ function ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "unit", "expected"),
    [
        ("hb", "80", "g/L", MET),  # limit 80 g/L
        ("hb", "79.9", "g/L", NOT_MET),
        ("hb", "8.0", "g/dL", MET),  # 8.0 x 10 = 80 g/L
        ("hb", "7.9", "g/dL", NOT_MET),  # 79 g/L
        ("anc", "1.5", "10^9/L", MET),
        ("anc", "1.49", "10^9/L", NOT_MET),
        ("plt", "80", "10^9/L", MET),
        ("plt", "79", "10^9/L", NOT_MET),
        ("albumin", "25", "g/L", MET),
        ("albumin", "24.9", "g/L", NOT_MET),
        ("albumin", "2.5", "g/dL", MET),  # 25 g/L
        ("albumin", "2.4", "g/dL", NOT_MET),  # 24 g/L
        # BUN: limit 2.5 x 8 = 20 mmol/L; 56 mg/dL x 0.357 = 19.992; 56.1 x 0.357 = 20.0277.
        ("bun", "20", "mmol/L", MET),
        ("bun", "20.1", "mmol/L", NOT_MET),
        ("bun", "56", "mg/dL", MET),
        ("bun", "56.1", "mg/dL", NOT_MET),
        # Bilirubin: limit 1.5 x 20 = 30 umol/L; 1.75 mg/dL x 17.1 = 29.925; 1.76 x 17.1 = 30.096.
        ("bilirubin", "30", "umol/L", MET),
        ("bilirubin", "30.1", "umol/L", NOT_MET),
        ("bilirubin", "1.75", "mg/dL", MET),
        ("bilirubin", "1.76", "mg/dL", NOT_MET),
        # Creatinine alone decides when clearance fails (59 < 60): 1.5 x 100 = 150 umol/L.
        ("creatinine", "150", "umol/L", MET),
        ("creatinine", "150.1", "umol/L", NOT_MET),
        # 1.69 mg/dL x 88.4 = 149.396 umol/L <= 150; 1.70 x 88.4 = 150.28 > 150.
        ("creatinine", "1.69", "mg/dL", MET),
        ("creatinine", "1.70", "mg/dL", NOT_MET),
    ],
)
def test_i08_single_lab_boundaries(field, value, unit, expected):
    r = result("I08", creatinine_clearance=lab("59", "mL/min"), **{field: lab(value, unit)})
    assert r.status is expected


@pytest.mark.parametrize(("lvef", "expected"), [("50", MET), ("49.9", NOT_MET), ("65", MET)])
def test_i08_lvef(lvef, expected):
    assert result("I08", lvef_percent=D(lvef)).status is expected


def test_i08_hb_reason_in_g_per_dl():
    # 7.5 g/dL x 10 = 75 g/L < 80.
    r = result("I08", hb=lab("7.5", "g/dL"))
    assert r.status is NOT_MET
    assert r.reason == "Hb 7.5 g/dL = 75 g/L; needs >= 80 g/L"


# Creatinine with the ULN from a mg/dL range: ULN 1.2 mg/dL = 1.2 x 88.4 = 106.08 umol/L,
# 1.5 x 106.08 = 159.12 umol/L. Clearance 59 fails, so creatinine decides.
MG_DL_CREATININE = {**RANGES, "creatinine": rng("creatinine", "mg/dL", "1.2")}
# And the other way round: ULN 106.08 umol/L; 1.8 mg/dL = 159.12 umol/L = 1.5 x ULN exactly;
# 1.81 mg/dL = 159.12 + 0.884 = 160.004 umol/L.
UMOL_CREATININE = {**RANGES, "creatinine": rng("creatinine", "umol/L", "106.08")}


@pytest.mark.parametrize(
    ("ranges", "value", "unit", "expected"),
    [
        (MG_DL_CREATININE, "159.12", "umol/L", MET),  # exactly 1.5 x ULN
        (MG_DL_CREATININE, "159.13", "umol/L", NOT_MET),
        (MG_DL_CREATININE, "1.8", "mg/dL", MET),  # 1.8 / 1.2 = 1.5
        (MG_DL_CREATININE, "1.81", "mg/dL", NOT_MET),
        (UMOL_CREATININE, "1.8", "mg/dL", MET),
        (UMOL_CREATININE, "1.81", "mg/dL", NOT_MET),
    ],
)
def test_i08_creatinine_uln_in_another_unit(ranges, value, unit, expected):
    r = result(
        "I08",
        ranges=ranges,
        creatinine=lab(value, unit),
        creatinine_clearance=lab("59", "mL/min"),
    )
    assert r.status is expected
    assert "ULN 1.2 mg/dL" in r.reason or "ULN 106.08 umol/L" in r.reason


def test_i08_creatinine_reason_shows_both_units():
    r = result(
        "I08",
        ranges=MG_DL_CREATININE,
        creatinine=lab("159.13", "umol/L"),
        creatinine_clearance=lab("59", "mL/min"),
    )
    # 159.13 / 106.08 = 1.50009...: shown to more decimals so it does not print as "1.5".
    assert "creatinine 159.13 umol/L = 1.5001 × ULN 1.2 mg/dL (= 106.08 umol/L)" in r.reason
    assert "creatinine clearance 59 mL/min; needs >= 60 mL/min" in r.reason


NO_CREATININE_RANGE = {k: v for k, v in RANGES.items() if k != "creatinine"}


@pytest.mark.parametrize(
    ("creatinine", "clearance", "ranges", "expected"),
    [
        (lab("200", "umol/L"), lab("60", "mL/min"), None, MET),  # 2.0 x ULN, clearance 60 saves
        (lab("200", "umol/L"), lab("59", "mL/min"), None, NOT_MET),  # both fail
        (lab("200", "umol/L"), Lab(None, None), None, NE),  # cannot pass on creatinine
        (Lab(None, None), lab("60", "mL/min"), None, MET),
        (lab("100", "umol/L"), Lab(None, None), None, MET),  # 1.0 x ULN
        (Lab(None, None), Lab(None, None), None, NE),
        (Lab(None, None), lab("59", "mL/min"), None, NE),
        # No creatinine range: clearance alone can still pass, but never fail the rule.
        (lab("100", "umol/L"), lab("60", "mL/min"), NO_CREATININE_RANGE, MET),
        (lab("100", "umol/L"), lab("59", "mL/min"), NO_CREATININE_RANGE, NE),
    ],
)
def test_i08_creatinine_or_clearance(creatinine, clearance, ranges, expected):
    r = result("I08", ranges=ranges, creatinine=creatinine, creatinine_clearance=clearance)
    assert r.status is expected


def test_i08_renal_reason_names_both_limits():
    # 200 / 100 = 2.0 x ULN > 1.5, and 59 < 60 mL/min.
    r = result("I08", creatinine=lab("200", "umol/L"), creatinine_clearance=lab("59", "mL/min"))
    assert r.reason == (
        "creatinine 200 umol/L = 2.0 × ULN 100 umol/L; limit 1.5 × ULN, "
        "or creatinine clearance 59 mL/min; needs >= 60 mL/min: neither met"
    )


@pytest.mark.parametrize("analyte", ["ast", "alt"])
@pytest.mark.parametrize(
    ("value", "liver_mets", "expected"),
    [
        # ULN 40 U/L: 2.5 x 40 = 100; 2.6 x 40 = 104; 5 x 40 = 200; 5.1 x 40 = 204.
        ("100", False, MET),
        ("104", False, NOT_MET),
        ("100", True, MET),
        ("200", True, MET),
        ("204", True, NOT_MET),
        ("100", None, MET),  # within 2.5 x: liver metastases do not matter
        ("104", None, NE),  # passes only with liver metastases, which are not recorded
        ("200", None, NE),
        ("204", None, NOT_MET),  # fails even with liver metastases
    ],
)
def test_i08_transaminases(analyte, value, liver_mets, expected):
    r = result("I08", liver_metastases=liver_mets, **{analyte: lab(value, "U/L")})
    assert r.status is expected


def test_i08_alt_reason():
    # 120 / 40 = 3.0 x ULN > 2.5.
    r = result("I08", alt=lab("120", "U/L"))
    assert r.reason == "ALT 120 U/L = 3.0 × ULN 40 U/L; limit 2.5 × ULN without liver metastases"


def test_i08_missing_reference_range():
    ranges = {k: v for k, v in RANGES.items() if k != "alt"}
    r = result("I08", ranges=ranges, lab_date=d("2026-03-01"))
    assert r.status is NE
    assert r.reason == "no reference range for ALT at this site on 2026-03-01"


@pytest.mark.parametrize(
    ("overrides", "ranges"),
    [
        ({"anc": lab("1.8", "mg/dL")}, None),  # wrong unit for ANC
        ({"anc": Lab(D("1.8"), None)}, None),  # unit not entered
        ({"anc": Lab(D("1.8"), "  ")}, None),
        ({"plt": lab("-5", "10^9/L")}, None),  # negative value
        ({}, {**RANGES, "bun": RefRange("bun", "mmol/L", D("2"), None, None, d("2020-01-01"))}),
        ({}, {**RANGES, "alt": rng("alt", "ukat/L", "0.6")}),  # range in a unit we refuse
        ({"lvef_percent": None}, None),
    ],
)
def test_i08_unusable_data_is_not_evaluable(overrides, ranges):
    assert result("I08", ranges=ranges, **overrides).status is NE


def test_i08_wrong_unit_reason_says_what_to_use():
    r = result("I08", anc=lab("1.8", "mg/dL"))
    assert "mg/dL is not a unit for ANC; use 10^9/L." in r.reason


# --- I09 contraception and pregnancy --------------------------------------------------------------


@pytest.mark.parametrize(
    ("tested", "c1d1", "expected"),
    [
        ("2026-02-23", "2026-03-02", MET),  # 23 Feb -> 28 Feb is 5 days, + 2 = 7 days before
        ("2026-02-22", "2026-03-02", NOT_MET),  # 8 days before
        ("2026-03-02", "2026-03-02", MET),  # on the day of C1D1 (before dosing)
        ("2026-03-03", "2026-03-02", NOT_MET),  # after C1D1
        ("2026-02-23", "2026-03-03", NOT_MET),  # C1D1 moved one day later: now 8 days
    ],
)
def test_i09_pregnancy_test_window(tested, c1d1, expected):
    r = result("I09", pregnancy_test_date=d(tested), planned_c1d1=d(c1d1))
    assert r.status is expected


def test_i09_old_test_reason():
    r = result("I09", pregnancy_test_date=d("2026-02-22"))
    assert r.status is NOT_MET
    assert "test is older than 7 days before C1D1" in r.reason
    assert "8 days" in r.reason


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"pregnancy_test_result": "positive"}, NOT_MET),
        ({"pregnancy_test_result": None}, NE),
        ({"pregnancy_test_date": None}, NE),
        ({"planned_c1d1": None}, NE),
        ({"lactating": True}, NOT_MET),
        ({"lactating": None}, NE),
        ({"childbearing_potential": None}, NE),
        ({"contraception_agreed": False}, NOT_MET),
        ({"contraception_agreed": None}, NE),
        ({"sex": None}, NE),
        ({"sex": "X"}, NE),
        # No childbearing potential: lactation and test data not needed.
        ({"childbearing_potential": False, "lactating": None, "pregnancy_test_result": None}, MET),
        # PROTOCOL.md I09 asks contraception of "women of childbearing potential and men" only
        ({"childbearing_potential": False, "contraception_agreed": False}, MET),
        ({"childbearing_potential": False, "contraception_agreed": None}, MET),
        # A man needs only contraception.
        ({"sex": "M", "childbearing_potential": None, "pregnancy_test_result": None}, MET),
        ({"sex": "M", "contraception_agreed": False}, NOT_MET),
        ({"sex": "M", "contraception_agreed": None}, NE),
    ],
)
def test_i09_other_parts(overrides, expected):
    assert result("I09", **overrides).status is expected


# --- Exclusions answered yes/no -------------------------------------------------------------------

YES_NO = [
    ("E01", "prior_anlotinib"),
    ("E02", "other_malignancy_5y"),
    ("E04", "unresolved_toxicity_gt1"),
    ("E05", "cannot_take_oral"),
    ("E06", "effusion_dyspnoea_gt2"),
    ("E08", "thyroid_dysfunction"),
    ("E09", "cardiac_disease"),
    ("E09", "active_infection_ge2"),
    ("E09", "infection_needing_antimicrobials"),
    ("E09", "seizures_needing_treatment"),
    ("E12", "unhealed_wound_or_fracture"),
    ("E12", "bleeding_gt3_4w"),
    ("E13", "thrombosis_6m"),
    ("E14", "psychiatric_or_substance"),
]


@pytest.mark.parametrize(("code", "field"), YES_NO)
@pytest.mark.parametrize(("answer", "expected"), [(True, NOT_MET), (False, MET), (None, NE)])
def test_yes_no_exclusions(code, field, answer, expected):
    # For an exclusion, MET = free of it: "yes, present" excludes.
    assert result(code, **{field: answer}).status is expected


@pytest.mark.parametrize(
    ("code", "field"),
    [("E11", "major_vessel_invasion_risk"), ("E16", "investigator_unsafe_judgement")],
)
@pytest.mark.parametrize(("answer", "expected"), [(False, ATTESTED), (True, NOT_MET), (None, NE)])
def test_judgement_exclusions(code, field, answer, expected):
    assert result(code, **{field: answer}).status is expected


def test_e12_both_parts_reported():
    r = result("E12", unhealed_wound_or_fracture=True, bleeding_gt3_4w=True)
    assert r.status is NOT_MET
    assert "unhealed wound" in r.reason and "bleeding" in r.reason


# --- E03 systemic therapy and radiotherapy --------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # Enrolment 2026-03-02; 2026-02-02 -> 2026-03-02 is 28 days (February has 28).
        ({"last_systemic_therapy_date": d("2026-02-02")}, MET),
        ({"last_systemic_therapy_date": d("2026-02-03")}, NOT_MET),  # 27 days
        ({"last_systemic_therapy_date": d("2026-03-05")}, NOT_MET),  # after enrolment
        ({"systemic_therapy_planned": True}, NOT_MET),
        ({"systemic_therapy_planned": None}, NE),
        ({"radiotherapy_type": "extended_field", "radiotherapy_date": d("2026-02-02")}, MET),
        ({"radiotherapy_type": "extended_field", "radiotherapy_date": d("2026-02-03")}, NOT_MET),
        ({"radiotherapy_type": "extended_field", "radiotherapy_date": None}, NE),
        ({"radiotherapy_type": "local", "radiotherapy_date": d("2026-02-25")}, MET),  # 5 days
        ({"radiotherapy_type": None}, NE),
        ({"radiotherapy_type": "whole_body"}, NE),
    ],
)
def test_e03_washouts(overrides, expected):
    assert result("E03", **overrides).status is expected


def test_e03_reason_has_days_and_limit():
    r = result("E03", last_systemic_therapy_date=d("2026-02-03"))
    assert r.reason == (
        "last systemic therapy 2026-02-03 is 27 days before enrolment 2026-03-02; needs >= 28 days"
    )


# --- E07 brain metastases -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        # 2026-01-02 + 2 months = 2026-03-02 = enrolment: exactly 2 months.
        (
            {
                "brain_metastases": "controlled",
                "brain_metastases_controlled_since": d("2026-01-02"),
            },
            MET,
        ),
        # One day less: 2026-01-03 + 2 months = 2026-03-03, after enrolment.
        (
            {
                "brain_metastases": "controlled",
                "brain_metastases_controlled_since": d("2026-01-03"),
            },
            NOT_MET,
        ),
        # Month end: 2025-12-31 + 2 months = 2026-02-28 (clamped).
        (
            {
                "brain_metastases": "controlled",
                "brain_metastases_controlled_since": d("2025-12-31"),
                "enrolment_date": d("2026-02-28"),
            },
            MET,
        ),
        (
            {
                "brain_metastases": "controlled",
                "brain_metastases_controlled_since": d("2025-12-31"),
                "enrolment_date": d("2026-02-27"),
            },
            NOT_MET,
        ),
        ({"brain_metastases": "controlled"}, NE),  # since when?
        ({"brain_metastases": "uncontrolled"}, NOT_MET),
        ({"brain_metastases": "none"}, MET),
        ({"brain_metastases": "maybe"}, NE),
    ],
)
def test_e07_brain_metastases(overrides, expected):
    assert result("E07", **overrides).status is expected


def test_e07_short_control_reason():
    r = result(
        "E07", brain_metastases="controlled", brain_metastases_controlled_since=d("2026-01-03")
    )
    assert "controlled for less than 2 months" in r.reason


# --- E09 severe uncontrolled disease --------------------------------------------------------------


@pytest.mark.parametrize(
    ("sbp", "dbp", "expected"),
    [
        (139, 89, MET),
        (140, 89, NOT_MET),
        (139, 90, NOT_MET),
        (160, 100, NOT_MET),
        (None, 80, NE),
        (130, None, NE),
        (None, 95, NOT_MET),  # diastolic alone already excludes
    ],
)
def test_e09a_blood_pressure(sbp, dbp, expected):
    assert result("E09", sbp=sbp, dbp=dbp).status is expected


@pytest.mark.parametrize(
    ("sex", "qtc", "expected"),
    [
        ("M", 449, MET),
        ("M", 450, NOT_MET),
        ("F", 450, MET),
        ("F", 469, MET),
        ("F", 470, NOT_MET),
        (None, 449, MET),  # below both limits
        (None, 450, NE),  # depends on sex
        (None, 469, NE),
        (None, 470, NOT_MET),  # above both limits
    ],
)
def test_e09b_qtc(sex, qtc, expected):
    assert result("E09", sex=sex, qtc_ms=qtc).status is expected


@pytest.mark.parametrize(
    ("value", "unit", "expected", "shown"),
    [
        ("10.0", "mmol/L", MET, "10.0 mmol/L"),  # not above 10
        ("10.1", "mmol/L", NOT_MET, "10.1 mmol/L"),
        ("180", "mg/dL", MET, "180 mg/dL = 9.99 mmol/L"),  # 180 / 18.016 = 9.9911
        ("181", "mg/dL", NOT_MET, "181 mg/dL = 10.05 mmol/L"),  # 181 / 18.016 = 10.0466
        ("180.16", "mg/dL", MET, "180.16 mg/dL = 10 mmol/L"),  # exactly 10
    ],
)
def test_e09c_fasting_glucose(value, unit, expected, shown):
    r = result("E09", fasting_glucose=lab(value, unit))
    assert r.status is expected
    if expected is NOT_MET:
        assert r.reason == f"(c) fasting glucose {shown}; excluded above 10 mmol/L"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"hbsag_positive": True, "hbv_dna_iu_ml": D("499")}, MET),
        ({"hbsag_positive": True, "hbv_dna_iu_ml": D("500")}, NOT_MET),
        ({"hbsag_positive": True, "hbv_dna_iu_ml": None}, NE),
        ({"hbsag_positive": False, "hbv_dna_iu_ml": None}, MET),
        ({"hbsag_positive": None}, NE),
        # HCV RNA+: abnormal liver function = ALT or AST above 1 x ULN 40 U/L.
        ({"hcv_rna_positive": True, "alt": lab("40", "U/L")}, MET),  # exactly the ULN
        ({"hcv_rna_positive": True, "alt": lab("41", "U/L")}, NOT_MET),
        ({"hcv_rna_positive": True, "ast": lab("41", "U/L")}, NOT_MET),
        ({"hcv_rna_positive": True, "alt": Lab(None, None)}, NE),
        ({"hcv_rna_positive": True, "alt": lab("41", "U/L"), "ast": Lab(None, None)}, NOT_MET),
        ({"hcv_rna_positive": False, "alt": lab("90", "U/L")}, MET),  # HCV negative
        ({"hcv_rna_positive": None}, NE),
    ],
)
def test_e09e_hepatitis(overrides, expected):
    assert result("E09", **overrides).status is expected


@pytest.mark.parametrize(
    ("dipstick", "grams", "expected"),
    [
        (1, None, MET),  # + alone is below ++
        (2, None, NOT_MET),  # ++
        (4, None, NOT_MET),
        (None, D("0.99"), MET),
        (None, D("1.0"), NOT_MET),
        (0, D("1.0"), NOT_MET),  # either measure excludes
        (1, D("0.99"), MET),
        (None, None, NE),
        (5, None, NE),  # not a dipstick reading
    ],
)
def test_e09f_proteinuria(dipstick, grams, expected):
    r = result("E09", urine_protein_dipstick=dipstick, urine_protein_24h_g=grams)
    assert r.status is expected


def test_e09_lists_every_failing_part():
    r = result("E09", sbp=150, qtc_ms=480, urine_protein_dipstick=3)
    assert r.status is NOT_MET
    assert "(a) systolic BP 150 mmHg" in r.reason
    assert "(b) QTc 480 ms" in r.reason
    assert "(f) urine dipstick +++" in r.reason


def test_e09_missing_parts_are_listed():
    r = result("E09", qtc_ms=None, hbsag_positive=None)
    assert r.status is NE
    assert "(b) QTc missing" in r.reason and "(e) HBsAg missing" in r.reason


# --- E10 / E15 washouts recorded as "never" or a date ---------------------------------------------


@pytest.mark.parametrize(
    ("code", "none_field", "date_field"),
    [("E10", "surgery_none", "surgery_date"), ("E15", "other_trial_none", "other_trial_date")],
)
@pytest.mark.parametrize(
    ("none", "when", "expected"),
    [
        (True, None, MET),
        (None, "2026-02-02", MET),  # 28 days before enrolment 2026-03-02
        (False, "2026-02-02", MET),
        (None, "2026-02-03", NOT_MET),  # 27 days
        (False, "2026-03-02", NOT_MET),  # same day as enrolment
        (None, None, NE),
        (False, None, NE),
        (True, "2026-02-20", NE),  # "never" ticked but a date entered: contradictory
    ],
)
def test_e10_e15_washout(code, none_field, date_field, none, when, expected):
    overrides = {none_field: none, date_field: d(when) if when else None}
    assert result(code, **overrides).status is expected


def test_e10_needs_enrolment_date_only_for_a_date():
    assert result("E10", enrolment_date=None).status is MET  # "no surgery" needs no date
    r = result("E10", enrolment_date=None, surgery_none=None, surgery_date=d("2026-01-10"))
    assert r.status is NE


# --- select_reference_range -----------------------------------------------------------------------

A = rng("alt", "U/L", "40", since="2025-01-01")  # neutral
B = rng("alt", "U/L", "45", since="2026-01-01")  # neutral, newer
C = rng("alt", "U/L", "35", sex="F", since="2026-01-01")  # women, same day as B
M_ = rng("alt", "U/L", "50", sex="M", since="2025-06-01")  # men, older than B
OTHER = rng("ast", "U/L", "33", since="2026-06-01")
CANDIDATES = [A, B, C, M_, OTHER]


@pytest.mark.parametrize(
    ("sex", "on", "expected"),
    [
        ("F", "2024-12-31", None),  # nothing valid yet
        ("F", "2025-01-01", A),  # valid_from is inclusive
        ("F", "2025-12-31", A),  # B and C start tomorrow
        ("F", "2026-01-01", C),  # sex-specific beats neutral on the same day
        ("F", "2027-01-01", C),
        ("M", "2025-05-31", A),
        ("M", "2025-06-01", M_),  # men's range starts
        ("M", "2026-01-01", B),  # a newer neutral range replaces the older men's range
        (None, "2026-01-01", B),  # unknown sex sees only neutral ranges
        (None, "2025-12-31", A),
    ],
)
def test_select_reference_range(sex, on, expected):
    assert select_reference_range(CANDIDATES, analyte="alt", sex=sex, on=d(on)) is expected
    # The order of the candidates does not matter.
    got = select_reference_range(reversed(CANDIDATES), analyte="alt", sex=sex, on=d(on))
    assert got is expected


def test_select_reference_range_other_analyte_or_nothing():
    assert select_reference_range(CANDIDATES, analyte="ast", sex="F", on=d("2026-05-31")) is None
    assert select_reference_range(CANDIDATES, analyte="ast", sex="F", on=d("2026-06-01")) is OTHER
    assert select_reference_range([], analyte="alt", sex="F", on=d("2026-01-01")) is None


@pytest.mark.parametrize(
    ("first", "c1d1", "expected"),
    [
        # 2026-01-05 + 28 days = 2026-02-02: still inside the screening window
        (date(2026, 1, 5), date(2026, 2, 2), None),
        # 2026-02-03 is 29 days after: a warning naming the 29 days
        (date(2026, 1, 5), date(2026, 2, 3), 29),
        (None, date(2026, 2, 3), None),
        (date(2026, 1, 5), None, None),
    ],
)
def test_screening_window_is_28_days_before_c1d1(first, c1d1, expected):
    assert rules.screening_window_exceeded(first, c1d1) == expected
