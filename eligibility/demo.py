"""Demo and test data for eligibility: a typical site laboratory and an eligible screening.

Used by ``seed_demo`` and by the tests' factories; not used by any clinical rule.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from accounts.models import Site

RANGES = [  # (analyte, unit, lln, uln): a typical Chinese hospital laboratory
    ("creatinine", "umol/L", "45", "97"),
    ("bun", "mmol/L", "2.9", "7.1"),
    ("bilirubin", "umol/L", "3.4", "21"),
    ("ast", "U/L", "8", "40"),
    ("alt", "U/L", "7", "40"),
    # the on-treatment lab panel (safety): CTCAE grades against the LLN / ULN
    ("hb", "g/L", "115", "175"),
    ("wbc", "10^9/L", "3.5", "9.5"),
    ("anc", "10^9/L", "1.8", "6.3"),
    ("plt", "10^9/L", "125", "350"),
    ("albumin", "g/L", "40", "55"),
    ("glucose", "mmol/L", "3.9", "6.1"),
    ("triglycerides", "mmol/L", None, "1.7"),
    ("cholesterol", "mmol/L", None, "5.2"),
    ("urine_protein_24h", "g/24 h", None, "0.15"),
    ("tsh", "mIU/L", "0.27", "4.2"),
    ("ft4", "pmol/L", "12", "22"),
]


def add_reference_ranges(site: Site, valid_from=dt.date(2020, 1, 1)):
    from eligibility.models import ReferenceRange

    for analyte, unit, lln, uln in RANGES:
        ReferenceRange.objects.get_or_create(
            site=site,
            analyte=analyte,
            sex="",
            valid_from=valid_from,
            defaults={
                "unit": unit,
                "lln": None if lln is None else Decimal(lln),
                "uln": Decimal(uln),
            },
        )


def eligible_screening_data(subject, *, anchor=None, **overrides) -> dict:
    """A screening that meets every criterion (values checked by hand against PROTOCOL.md).

    Dates are relative to ``anchor`` (the enrolment date, default today at the site); the
    pregnancy test is today, or the day before the planned C1D1 if that is earlier.
    """
    D = Decimal
    today = anchor or subject.site.today()
    c1d1 = overrides.get("planned_c1d1") or today + dt.timedelta(days=5)
    # I09: a pregnancy test within 7 days before C1D1 cannot be done before an enrolment more
    # than 7 days ahead of C1D1, so such a woman is one without childbearing potential.
    woman = subject.sex == "F" and (c1d1 - today).days <= 7
    data = {
        "first_procedure_date": subject.consent_date,
        "planned_c1d1": c1d1,
        "ecog": 1,
        "expected_survival_attested": True,
        "pathologically_confirmed": True,
        "histology": "leiomyosarcoma",
        "histology_other": "",
        "advanced_or_metastatic": True,
        "disease_status": "measurable",
        "liver_metastases": False,
        "brain_metastases": "none",
        "brain_metastases_controlled_since": None,
        "anthracycline_first_line": True,
        "anthracycline_regimen": "doxorubicin + ifosfamide",
        "anthracycline_cycles": 6,
        "best_response": "PR",
        "last_systemic_therapy_date": today - dt.timedelta(days=40),
        "systemic_therapy_planned": False,
        "radiotherapy_type": "none",
        "radiotherapy_date": None,
        "surgery_none": True,
        "surgery_date": None,
        "prior_anlotinib": False,
        "other_trial_none": True,
        "other_trial_date": None,
        "lab_date": today - dt.timedelta(days=2),
        "hb_value": D("120"),
        "hb_unit": "g/L",
        "anc_value": D("3.1"),
        "plt_value": D("210"),
        "creatinine_value": D("70"),
        "creatinine_unit": "umol/L",
        "creatinine_clearance_value": D("92"),
        "bun_value": D("5.0"),
        "bun_unit": "mmol/L",
        "bilirubin_value": D("10"),
        "bilirubin_unit": "umol/L",
        "ast_value": D("25"),
        "alt_value": D("22"),
        "albumin_value": D("40"),
        "albumin_unit": "g/L",
        "lvef_percent": D("62"),
        "echo_date": today - dt.timedelta(days=5),
        "sbp": 122,
        "dbp": 76,
        "on_antihypertensives": False,
        "qtc_ms": 420,
        "fasting_glucose_value": D("5.2"),
        "fasting_glucose_unit": "mmol/L",
        "urine_protein_dipstick": 0,
        "urine_protein_24h_g": None,
        "hbsag_positive": False,
        "hbv_dna_iu_ml": None,
        "hcv_rna_positive": False,
        "childbearing_potential": woman,
        "lactating": False if woman else None,
        "pregnancy_test_date": min(today, c1d1 - dt.timedelta(days=1)) if woman else None,
        "pregnancy_test_type": "serum" if woman else "",
        "pregnancy_test_result": "negative" if woman else "",
        "contraception_agreed": True,
        "other_malignancy_5y": False,
        "unresolved_toxicity_gt1": False,
        "cannot_take_oral": False,
        "effusion_dyspnoea_gt2": False,
        "thyroid_dysfunction": False,
        "cardiac_disease": False,
        "active_infection_ge2": False,
        "infection_needing_antimicrobials": False,
        "seizures_needing_treatment": False,
        "major_vessel_invasion_risk": False,
        "unhealed_wound_or_fracture": False,
        "bleeding_gt3_4w": False,
        "thrombosis_6m": False,
        "psychiatric_or_substance": False,
        "investigator_unsafe_judgement": False,
    }
    data.update(overrides)
    return data
