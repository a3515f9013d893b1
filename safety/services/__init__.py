"""Write paths of safety, one module per topic; reads are in ``safety.selectors``.

* ``dictionary`` — load the CTCAE v4.03 dictionary;
* ``aes`` — adverse events: checks, record/update with the grade history, reporting window;
* ``causality`` — the investigator's e-signed causality;
* ``sae`` — the SAE workflow (initial report, notices, the coordinator's draft, the
  investigator's e-signed submission, follow-ups);
* ``labs`` — lab panels graded by CTCAE v4.03 (implausible values refused by the screening
  form's table, ``eligibility.plausibility``), their correction, and their "grade >= 2
  without an AE" query;
* ``dose_link`` — the AE <-> dose modification edit checks.

Every write runs in one transaction and stores nothing when a check fails: the refusal is a
``ValidationError`` keyed by the form field at fault (AE fields by their model name, plus
``grade_from``; lab panel values as ``<analyte>-value`` / ``<analyte>-unit``, and
``systolic`` / ``diastolic``). The pure rules live in ``safety.ctcae`` (grades a term has),
``safety.adverse_events`` (grade history, reporting window, SAE due time) and
``safety.grading`` (CTCAE grade of a lab value). Reasons the system writes on the audit trail
are in English whatever the user's language.

Dependencies point one way: ``labs`` and ``sae`` below ``aes``; every module may read through
``safety.selectors``; safety imports ``subjects.services`` (a fatal AE records the death), and
``subjects.services`` never imports safety: it sends ``status_changed``, to which
``safety.apps`` connects ``sync_reporting_window`` (treatment start/stop moves the window).

The names below are re-exported so ``from safety import services`` keeps working.
"""

from safety.selectors import (
    OfferedAe,
    first_dose_date,
    in_window,
    lab_panels,
    offered_aes,
    offers_by_panel,
    reporting_window,
    sae_listing,
    search_terms,
)
from safety.services.aes import (
    AE_FIELDS,
    GRADE_HISTORY_CHECK,
    check_ae,
    grade_summary,
    record_ae,
    report_missing_grade_history,
    sync_reporting_window,
    update_ae,
)
from safety.services.causality import sign_causality
from safety.services.dictionary import load_ctcae
from safety.services.labs import correct_lab_panel, record_lab_panel
from safety.services.sae import (
    SAE_CRITERIA_LABELS,
    add_follow_up,
    report_hash,
    save_sae_draft,
    start_sae_workflow,
    submit_sae_report,
)

__all__ = [
    "AE_FIELDS",
    "GRADE_HISTORY_CHECK",
    "SAE_CRITERIA_LABELS",
    "OfferedAe",
    "add_follow_up",
    "check_ae",
    "correct_lab_panel",
    "first_dose_date",
    "grade_summary",
    "in_window",
    "lab_panels",
    "load_ctcae",
    "offered_aes",
    "offers_by_panel",
    "record_ae",
    "record_lab_panel",
    "report_hash",
    "report_missing_grade_history",
    "reporting_window",
    "sae_listing",
    "save_sae_draft",
    "search_terms",
    "sign_causality",
    "start_sae_workflow",
    "submit_sae_report",
    "sync_reporting_window",
    "update_ae",
]
