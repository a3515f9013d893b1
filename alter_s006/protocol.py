"""Every number of the ALTER-S006 protocol, named once.

Source: ``docs/PROTOCOL.md`` (itself drawn from the public registry entry in
``docs/protocol/``). Values the registry is silent on are marked ``[default]``
there and here; they are study configuration, not literals buried in code.
Pure Python: no Django import, so the rules modules can use it freely.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

TRIAL_ID = "ALTER-S006"
PLANNED_SUBJECTS = 48

# --- Treatment (PROTOCOL.md "The trial") ---------------------------------
DRUG_NAME = "anlotinib hydrochloride"
START_DOSE_MG = 12
DOSE_LEVELS_MG = (12, 10, 8)  # [default] start -> -1 -> -2; intolerance at 8 mg stops treatment
ALLOW_REESCALATION = False  # [default] no re-escalation after a reduction
DOSING_DAYS = (1, 14)  # days 1-14 of each cycle, once daily, orally
CYCLE_LENGTH_DAYS = 21

# Drug accountability: compliance = capsules taken / planned, flagged outside these bounds
COMPLIANCE_LOW_PERCENT = Decimal("80")  # [default] below: "low"
COMPLIANCE_HIGH_PERCENT = Decimal("120")  # [default] above: "high"

# --- Schedule (PROTOCOL.md "Schedule") -------------------------------------
SCREENING_MAX_DAYS_BEFORE_C1D1 = 28  # [default]
PREGNANCY_TEST_MAX_DAYS_BEFORE_FIRST_DOSE = 7
CYCLE_WINDOW_DAYS = 3  # +/- [default]
TUMOUR_ASSESSMENT_INTERVAL_DAYS = 42  # from C1D1, does not drift with cycle delays
TUMOUR_ASSESSMENT_WINDOW_DAYS = 7  # +/- [default]
END_OF_TREATMENT_WITHIN_DAYS = 7  # of the decision to stop [default]
SAFETY_FOLLOW_UP_DAYS_AFTER_LAST_DOSE = 21
SAFETY_FOLLOW_UP_WINDOW_DAYS = 3  # +/- [default]
SURVIVAL_FOLLOW_UP_INTERVAL_DAYS = 12 * 7  # every 12 weeks [default]
SURVIVAL_FOLLOW_UP_WINDOW_DAYS = 14  # +/- [default]
STUDY_HORIZON_MONTHS = 24  # survival follow-up and assessments until 24 months from C1D1
MAX_CYCLES = 36  # [default] cycles planned ahead (24 months is 34.8 cycles)
# Schedule of assessments (issue 13): the 12-lead ECG and thyroid function at every other
# cycle day 1 (C3D1, C5D1, ...) [default]
ECG_THYROID_EVERY_N_CYCLES = 2  # [default]

# The schedule of assessments (issue 13; PROTOCOL.md "Schedule of assessments"): for each visit
# kind, the CRFs expected, in the order the visit page lists them, each "required", "optional"
# or conditional ("if:<condition>", required when the condition holds for that visit, else not
# expected). Conditions (``crfs.soa``): "ecg_thyroid_cycle" (cycle 1, then every
# ECG_THYROID_EVERY_N_CYCLES cycles: C1, C3, C5, ...). The screening CRF (``eligibility``) holds
# ECOG, the laboratory values, urinalysis, LVEF (echocardiography), the pregnancy test (women of
# child-bearing potential) and the prior anticancer therapy; the eligibility signature closes it.
SCHEDULE_OF_ASSESSMENTS: dict[str, tuple[tuple[str, str], ...]] = {  # [default]
    "screening": (
        ("demographics", "required"),
        ("medical_history_review", "required"),
        ("screening_crf", "required"),
        ("vital_signs", "required"),
        ("physical_exam", "required"),
        ("ecg", "required"),
        ("con_med_review", "required"),
        ("baseline_tumour", "required"),
        ("eligibility_signature", "required"),
    ),
    "cycle": (
        ("vital_signs", "required"),
        ("ecog", "required"),
        ("physical_exam", "required"),
        ("lab_panel", "required"),
        ("urinalysis", "required"),
        ("ecg", "if:ecg_thyroid_cycle"),
        ("thyroid_function", "if:ecg_thyroid_cycle"),
        ("con_med_review", "required"),
        ("ae_review", "required"),
        ("dispensing", "required"),
    ),
    "tumour_assessment": (("recist_timepoint", "required"),),
    "end_of_treatment": (
        ("end_of_treatment", "required"),
        ("vital_signs", "required"),
        ("ecog", "required"),
        ("lab_panel", "required"),
    ),
    "safety_follow_up": (
        ("ae_review", "required"),
        ("con_med_review", "required"),
        ("ae_outcome_review", "required"),
    ),
    "survival_follow_up": (("survival_follow_up", "required"),),
    # a visit between the planned ones: what was done is entered, the AE review always
    "unscheduled": (
        ("ae_review", "required"),
        ("vital_signs", "optional"),
        ("ecog", "optional"),
        ("physical_exam", "optional"),
        ("lab_panel", "optional"),
        ("urinalysis", "optional"),
        ("ecg", "optional"),
        ("thyroid_function", "optional"),
        ("con_med_review", "optional"),
    ),
}
# A visit whose required CRFs are not all complete this many days after its date is listed for
# the monitors ("CRF incomplete N days after the visit") [default]
CRF_COMPLETION_EXPECTED_DAYS = 5  # [default]
# Urinalysis at each cycle: the 24-h urine protein is measured when the dipstick reads this
# many "+" or more (issue 13: "24 h protein if >= 2+") [default]
URINE_PROTEIN_24H_FROM_DIPSTICK_PLUS = 2

# --- Eligibility (PROTOCOL.md "Eligibility") -------------------------------
AGE_MIN_YEARS = 18
AGE_MAX_YEARS = 70
ECOG_MAX = 2
EXPECTED_SURVIVAL_MIN_MONTHS = 3
MIN_PRIOR_ANTHRACYCLINE_CYCLES = 4
HB_MIN_G_PER_L = Decimal("80")
ANC_MIN_10E9_PER_L = Decimal("1.5")
PLT_MIN_10E9_PER_L = Decimal("80")
CREATININE_MAX_X_ULN = Decimal("1.5")
CREATININE_CLEARANCE_MIN_ML_MIN = Decimal("60")
BUN_MAX_X_ULN = Decimal("2.5")
BILIRUBIN_MAX_X_ULN = Decimal("1.5")
AST_ALT_MAX_X_ULN = Decimal("2.5")
AST_ALT_MAX_X_ULN_LIVER_METS = Decimal("5")
ALBUMIN_MIN_G_PER_L = Decimal("25")
LVEF_MIN_PERCENT = Decimal("50")
CONTRACEPTION_MONTHS_AFTER = 6
PRIOR_MALIGNANCY_YEARS = 5
SYSTEMIC_THERAPY_WASHOUT_DAYS = 28  # 4 weeks
RADIOTHERAPY_WASHOUT_DAYS = 28
SURGERY_WASHOUT_DAYS = 28
OTHER_TRIAL_WASHOUT_DAYS = 28
BLEEDING_LOOKBACK_DAYS = 28
THROMBOSIS_LOOKBACK_MONTHS = 6
BRAIN_METS_CONTROLLED_MIN_MONTHS = 2
SBP_MAX_EXCLUSIVE = 140  # excluded at >= 140 mmHg
DBP_MAX_EXCLUSIVE = 90  # excluded at >= 90 mmHg
QTC_EXCLUDE_MEN_MS = 450
QTC_EXCLUDE_WOMEN_MS = 470
FASTING_GLUCOSE_MAX_MMOL_L = Decimal("10")  # excluded when > 10
HBV_DNA_EXCLUDE_IU_ML = 500
URINE_PROTEIN_EXCLUDE_DIPSTICK_PLUS = 2  # ++
URINE_PROTEIN_24H_EXCLUDE_G = Decimal("1.0")

# --- Outcomes ----------------------------------------------------------------
RESPONSE_CONFIRMATION_MIN_DAYS = 28  # >= 4 weeks
# RECIST 4.4.3 / 4.6 leave the SD minimum interval to the protocol; ALTER-S006 is silent, so
# [default]: SD counts as best response when measured at the earliest day of the first
# scheduled scan's window (day 42 - 7 = 35 after C1D1).
SD_MIN_DAYS_AFTER_C1D1 = TUMOUR_ASSESSMENT_INTERVAL_DAYS - TUMOUR_ASSESSMENT_WINDOW_DAYS
AE_REPORTING_DAYS_AFTER_LAST_DOSE = 21
CTCAE_VERSION = "4.03"

# --- Safety reporting (issue 6; PROTOCOL.md "Outcomes": safety) -------------
SAE_REPORT_HOURS = 24  # initial SAE report due within 24 h of the site learning of it
SAE_FOLLOW_UP_HOURS = 24  # [default] a follow-up report requested is due 24 h later
SPONSOR_SAFETY_EMAIL = "drug-safety@alter-s006.example.org"  # [default] sponsor safety contact
LAB_AE_OFFER_MIN_GRADE = 2  # a lab value of this CTCAE grade or worse is offered as an AE

# --- Plausibility of what is typed (edit checks on entry, not eligibility) -----------------
# PROTOCOL.md I02 admits ages 18-70 at consent. A date of birth giving an age at consent outside
# this much wider range is a typing error (0001-01-01 would be "age 2025"), refused at entry;
# an age inside it but outside 18-70 is a real, ineligible subject, for I02 to say so.
PLAUSIBLE_AGE_AT_CONSENT_YEARS = (10, 110)  # [default]
# No date of this trial (birth, consent, visit, dose, sample, scan, onset) lies outside these;
# the bounds also keep date arithmetic (windows, cycles, calendar months) far from year 1 / 9999.
EARLIEST_PLAUSIBLE_DATE = dt.date(1900, 1, 1)  # [default]
LATEST_PLAUSIBLE_DATE = dt.date(2100, 12, 31)  # [default]

# --- Software defaults (not clinical) ---------------------------------------
DUE_SOON_DAYS = 7  # "visits due this week" on the dashboard

# --- logs (issue 13 log forms: concomitant medications, medical history, deviations) ------
# PROTOCOL.md "Prohibited and cautionary concomitant medications [default]": the classes are
# listed in logs/prohibited.py. The plausible dose of a concomitant medication as typed, in
# any unit of its code list: above 0 and at most this much (a larger number is a typing
# error; a microgram dose is entered in ug, not as 0.0001 g) [default].
CONMED_DOSE_MIN_EXCLUSIVE = Decimal("0")
CONMED_DOSE_MAX = Decimal("100000")
# The grade at baseline of a medical-history condition: CTCAE grades 1-4 (5 is death) [default].
BASELINE_GRADE_MIN = 1
BASELINE_GRADE_MAX = 4
# --- outcomes (issue 13: end of treatment, death, survival follow-up, withdrawal) -----------
# PROTOCOL.md "Outcomes" / "Schedule". Subsequent anticancer therapy is second line or later:
# first-line anthracycline chemotherapy with anlotinib maintenance is line 1 [default].
SUBSEQUENT_THERAPY_LINES = (2, 10)  # line of therapy, inclusive [default]

# --- monitoring (issue 14: source-data verification, freeze / lock, signatures) ----------
# Source-data verification requirement per CRF type, in percent of the CRF instances the
# monitor verifies against the source [default: 100 % for screening/eligibility, AE, SAE,
# tumour timepoints and lesions, dosing modifications; none for the rest]. Keys: model labels.
SDV_REQUIRED_PERCENT = {
    "eligibility.screening": 100,
    "safety.adverseevent": 100,
    "safety.saereport": 100,
    "assessments.timepoint": 100,
    "assessments.lesion": 100,
    "dosing.doseevent": 100,
}
# Item-level SDV: the critical fields of those CRFs, each verified on its own [default].
SDV_CRITICAL_FIELDS = {
    "eligibility.screening": ("histology", "disease_status", "ecog", "lvef_percent", "qtc_ms"),
    "safety.adverseevent": ("term", "onset_date", "end_date", "serious", "relationship"),
    "safety.saereport": (),
    "assessments.timepoint": ("scan_date", "non_target_status", "new_lesion"),
    "assessments.lesion": ("role", "organ", "is_node"),
    "dosing.doseevent": ("kind", "start", "dose_mg", "reason"),
}

# --- edit checks (issue 14 section 2) ------------------------------------------------------
# A CRF a held visit requires and still not complete this many days after the visit date gets
# a system query (``crfs.incomplete.<form>``), one per (visit, form) [default]. Separate from
# CRF_COMPLETION_EXPECTED_DAYS (the "days late" shown): the query comes later.
CRF_QUERY_AFTER_DAYS = 7

# --- queries (issue 14 section 1: the query list's age filter and the metrics page) ---------
# The age buckets of an unresolved query, in whole days since it was raised: 0-7, 8-30, more
# than 30 [default, issue 14 "age 0–7 / 8–30 / > 30 days"].
QUERY_AGE_BUCKETS = ((0, 7), (8, 30), (31, None))  # inclusive; None: no upper limit
# The metrics page lists the most-queried fields and edit checks, this many of each [issue 14].
QUERY_METRICS_TOP = 10

# --- exports (issue 15) ------------------------------------------------------------------------
# An export file is deleted this many days after it was made; its job row (who, what, SHA-256)
# stays [default, issue 15 "Files expire after 7 days"].
EXPORT_RETENTION_DAYS = 7
# A progress write per this many subjects (or datasets) of a running export.
EXPORT_PROGRESS_EVERY = 50

# --- PDFs (issue 15 section 1) ---------------------------------------------------------------
# A PDF render (HTML to PDF) that has not finished after this many seconds is stopped and the
# request answered with an error [default]: a runaway document cannot hold a worker.
PDF_RENDER_TIMEOUT_SECONDS = 120
