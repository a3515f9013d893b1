"""RECIST notes and refusals worded from their codes in the reader's language (issue 11 C13)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from django.utils import translation

from assessments import notes, recist
from assessments.recist import Lesion, Method, Note, RecistError

ALL_PARAMS = {  # a value for every parameter any wording uses
    "percent": D("-30.00"),
    "baseline_mm": D(100),
    "limit_pct": D(30),
    "increase_mm": D("6.5"),
    "nadir_mm": D(80),
    "limit_mm": D(5),
    "pr_pct": D(30),
    "pd_pct": D(20),
    "pd_mm": D(5),
    "sum_mm": D(8),
    "node_mm": D(10),
    "assessed_sum_mm": D(130),
    "date": "2026-02-16",
    "days": 28,
    "day": 35,
    "mm": D(12),
    "minimum_mm": D(15),
    "max": 5,
    "lesion_id": "T1",
    "organ": "liver",
    "method": "CT",
}


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
@pytest.mark.parametrize("code", sorted(notes.NOTE_TEXTS))
def test_every_note_is_worded_with_its_parameters(code, lang):
    with translation.override(lang):
        text = notes.note_text({"code": code, "params": ALL_PARAMS})
    assert text and "%(" not in text


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
@pytest.mark.parametrize("key", sorted(notes.ERROR_TEXTS))
def test_every_refusal_is_worded_with_its_parameters(key, lang):
    code, _, variant = key.partition("/")
    params = dict(ALL_PARAMS, **({"variant": variant} if variant else {}))
    with translation.override(lang):
        text = notes.error_text(RecistError("f", "English", code, **params))
    assert text and text != "English" and "%(" not in text


def test_numbers_in_a_note_are_written_the_pages_way():
    note = Note("pd_from_nadir", tuple(ALL_PARAMS.items()))
    with translation.override("en"):
        text = notes.note_text(note)
    assert text.startswith("Sum \u221230.00\u00a0% (6.5 mm) above the nadir (80 mm)")


def test_a_refused_node_is_worded_in_chinese():
    problems = recist.baseline_problems(
        [Lesion("T1", "lymph node", Method.CT, 12, is_node=True, slice_thickness_mm=5)], []
    )
    (problem,) = problems
    assert problem.code == "node_not_measurable"
    with translation.override("zh-hans"):
        text = notes.error_text(problem)
    assert "\u77ed\u5f84" in text and "15 mm" in text and "12 mm" in text  # 短径
    with translation.override("en"):
        assert notes.error_text(problem) == (
            "A target lymph node needs a short axis of at least 15 mm (RECIST 3.1.1); 12 mm: "
            "record it as a non-target lesion."
        )


def test_an_unknown_code_keeps_the_english_message_or_stored_text():
    assert notes.error_text(RecistError("f", "As it was.", "something_new")) == "As it was."
    assert notes.note_text({"code": "text", "params": {"text": "Old note."}}) == "Old note."


def test_input_values_are_shown_in_the_readers_language():
    from assessments.forms import NEW_LESION

    with translation.override("zh-hans"):
        assert notes.label("no") == "\u65e0"  # 无
        assert notes.label(recist.MeasurementKind.NOT_ASSESSED) == "\u672a\u8bc4\u4f30"  # 未评估
        assert [(value, str(shown)) for value, shown in NEW_LESION] == [
            ("", "—"),
            ("no", "\u65e0"),
            ("yes", "\u6709"),
            ("equivocal", "\u53ef\u7591"),
        ]
    with translation.override("en"):
        assert notes.label("equivocal") == "equivocal"
    assert notes.label("PR") == "PR" and notes.label("non-CR/non-PD") == "non-CR/non-PD"
