"""The edit checks declared once (``alter_s006.edit_checks``): every id unique, the ids the
stored queries already name kept exactly, every app's declarations collected, and the stored
text in English whatever the user's language. No database."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from alter_s006 import protocol as P
from alter_s006.edit_checks import MODULES, all_checks

# The ids stored on queries before issue 14: renaming one would orphan its open queries.
STORED_BEFORE = {
    "safety.ae_outside_window",
    "safety.ae_grade_history_missing",
    "safety.ae_action_without_dose_event",
    "safety.toxicity_dose_event_without_ae",
    "safety.lab_grade_without_ae",
    "recist.investigator_disagrees",
    "recist.out_of_window",
    "logs.conmed_prohibited",
    "crfs.grade_without_ae",
}
NEW = {
    "safety.ae_onset_before_consent",
    "safety.dose_event_without_reason",
    "dosing.compliance_out_of_range",
    "subjects.visit_missed",
}


def test_the_ids_stored_before_are_kept_and_the_new_ones_declared():
    ids = set(all_checks())
    assert ids >= STORED_BEFORE | NEW
    incomplete = {i for i in ids if i.startswith("crfs.incomplete.")}
    forms = {f for rows in P.SCHEDULE_OF_ASSESSMENTS.values() for f, _n in rows}
    assert incomplete == {f"crfs.incomplete.{f}" for f in forms}
    assert ids == STORED_BEFORE | NEW | incomplete


def test_every_apps_declarations_are_collected():
    root = Path(settings.BASE_DIR)
    declared = {
        f"{p.parent.name}.edit_checks"
        for p in root.glob("*/edit_checks.py")
        if p.parent.name != "alter_s006"
    }
    assert declared == set(MODULES)


def test_every_check_names_its_record_field_title_and_message():
    for check_id, check in all_checks().items():
        assert check.id == check_id and len(check_id) <= 60  # Query.edit_check
        assert check.models and all(m == m.lower() and "." in m for m in check.models)
        assert check.fields and check.field == check.fields[0]
        assert str(check.title) and str(check.message)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_stored_text_is_english_in_any_language(language):
    check = all_checks()["subjects.visit_missed"]
    with translation.override(language):
        text = check.text(visit="C2D1", latest="2026-01-29")
    assert text == (
        "The window of visit C2D1 closed on 2026-01-29 and nothing is recorded. Please enter "
        "the visit date, or mark the visit missed."
    )


def test_a_variant_renders_its_own_text():
    check = all_checks()["logs.conmed_prohibited"]
    text = check.text("cautionary", name="Ketoconazole", drug_class="a strong CYP3A4 inhibitor")
    assert text.startswith("Ketoconazole is a strong CYP3A4 inhibitor (PROTOCOL.md")
    assert "Investigator: is the dose therapeutic?" in text
