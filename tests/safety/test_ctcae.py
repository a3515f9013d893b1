"""The CTCAE v4.03 dictionary: the shipped file, the loaded table and the term search.

Counts and grades read off ``shared/data/ctcae_v4.03.csv`` by hand: 790 terms in 26 system
organ classes; "Neutrophil count decreased" (10029366) has grades 1-4 ("-" for grade 5),
"Anemia" (10002272) 1-5, "Febrile neutropenia" 3-5, "Edema cerebral" only 4 (grade 5 cell
empty), "Lymph node pain" 1-3; one "Other, specify" term per SOC.
"""

from __future__ import annotations

import pytest

from safety import ctcae, grading
from safety.models import CtcaeTerm
from safety.services import load_ctcae, search_terms
from tests.safety.conftest import term

TERMS = ctcae.read_terms()
BY_NAME = {t.term: t for t in TERMS}


# --- the file (pure) ---------------------------------------------------------------------------


def test_the_dictionary_has_790_terms_in_26_socs_with_unique_codes():
    assert len(TERMS) == 790
    assert len({t.soc for t in TERMS}) == 26
    assert len({t.meddra_code for t in TERMS}) == 790


def test_the_shipped_copy_is_the_shared_dictionary():
    shared = ctcae.DATA_FILE.parents[2].parent / "shared" / "data" / "ctcae_v4.03.csv"
    if not shared.exists():
        pytest.skip("no shared/ beside the product")
    assert ctcae.DATA_FILE.read_bytes() == shared.read_bytes()


@pytest.mark.parametrize(
    ("name", "code", "grades"),
    [
        ("Neutrophil count decreased", 10029366, (1, 2, 3, 4)),
        ("Anemia", 10002272, (1, 2, 3, 4, 5)),
        ("Febrile neutropenia", 10016288, (3, 4, 5)),
        ("Disseminated intravascular coagulation", 10013442, (2, 3, 4, 5)),
        ("Edema cerebral", 10014217, (4,)),
        ("Lymph node pain", 10025182, (1, 2, 3)),
        ("Obesity", 10029883, (2, 3, 4)),
        ("Hypertension", 10020772, (1, 2, 3, 4, 5)),
    ],
)
def test_grades_a_term_has_are_the_cells_that_are_not_a_dash_or_empty(name, code, grades):
    found = BY_NAME[name]
    assert (found.meddra_code, found.allowed_grades) == (code, grades)


def test_allowed_grades_of_raw_cells():
    assert ctcae.allowed_grades(["-", "Mild", " - ", "", "Death"]) == (2, 5)
    assert ctcae.allowed_grades(["a", "b", "c", "d", "e"]) == (1, 2, 3, 4, 5)


def test_wording_of_a_grade_and_of_a_grade_that_does_not_exist():
    anc = BY_NAME["Neutrophil count decreased"]
    assert anc.definition_of(3) == "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L"
    assert anc.definition_of(5) == ""


def test_the_message_refusing_a_grade_names_term_and_version():
    assert ctcae.grade_not_allowed("Neutrophil count decreased", 5) == (
        "Grade 5 does not exist for Neutrophil count decreased in CTCAE 4.03."
    )


def test_one_other_specify_term_per_soc():
    others = [t for t in TERMS if t.other_specify]
    assert len(others) == 26
    assert {t.soc for t in others} == {t.soc for t in TERMS}
    assert BY_NAME["Investigations - Other, specify"].other_specify
    assert not BY_NAME["Anemia"].other_specify
    assert ctcae.is_other_specify("Cardiac disorders - Other, specify")
    assert not ctcae.is_other_specify("Other, specify something else")


def test_every_term_the_lab_grading_returns_is_in_the_dictionary_with_the_same_wording():
    for name, cells in grading.WORDING.items():
        assert BY_NAME[name].grades == tuple(cells), name


def test_a_file_with_other_columns_or_a_repeated_code_is_refused(tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("code,term\n1,Anemia\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected the columns"):
        ctcae.read_terms(wrong)
    header = ctcae.DATA_FILE.read_text(encoding="utf-8").splitlines()[0]
    row = "10002272,Blood,Anemia,a,b,c,d,e,def,"
    twice = tmp_path / "twice.csv"
    twice.write_text(f"{header}\n{row}\n{row.replace('Anemia', 'Other')}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="meddra_code 10002272 is given twice"):
        ctcae.read_terms(twice)
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{header}\n{row.replace('10002272', 'x1')}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: MedDRA code 'x1' is not a number"):
        ctcae.read_terms(bad)


# --- the table -----------------------------------------------------------------------------


def test_the_migration_loaded_every_term_and_the_table_knows_grade_availability(db):
    assert CtcaeTerm.objects.count() == 790
    assert CtcaeTerm.objects.values("soc").distinct().count() == 26
    assert CtcaeTerm.objects.filter(other_specify=True).count() == 26
    anc = term("Neutrophil count decreased")
    assert anc.allowed_grades == (1, 2, 3, 4)
    assert anc.grade_definitions()[0] == (1, "<LLN - 1500/mm3; <LLN - 1.5 x 10e9 /L")
    assert term("Anemia").allowed_grades == (1, 2, 3, 4, 5)


def test_loading_again_changes_nothing_and_repairs_an_altered_term(db):
    assert load_ctcae() == (0, 0)
    CtcaeTerm.objects.filter(term="Anemia").update(grade_5="-")
    assert load_ctcae() == (0, 1)
    assert term("Anemia").allowed_grades == (1, 2, 3, 4, 5)


def test_load_ctcae_command_is_idempotent(db):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("load_ctcae", stdout=out)
    assert out.getvalue().strip() == "CTCAE terms: 0 created, 0 updated."


# --- search --------------------------------------------------------------------------------


def test_search_puts_the_term_starting_with_the_words_first(db):
    found = [t.term for t in search_terms("neutrophil")]
    assert found[0] == "Neutrophil count decreased"
    assert "Febrile neutropenia" not in found  # "neutropenia" is not "neutrophil"


def test_search_by_every_word_over_term_and_soc(db):
    found = [t.term for t in search_terms("investigations other")]
    assert found == ["Investigations - Other, specify"]
    cardiac = search_terms("cardiac disorders", limit=200)
    in_soc = CtcaeTerm.objects.filter(soc="Cardiac disorders")
    assert set(in_soc) <= set(cardiac)
    for found in cardiac:  # each word in the term or in its SOC
        text = f"{found.term} {found.soc}".lower()
        assert "cardiac" in text and "disorders" in text


def test_search_by_meddra_code_exact_and_prefix(db):
    assert [t.term for t in search_terms("10029366")] == ["Neutrophil count decreased"]
    prefix = search_terms("1002936", limit=50)
    assert all(str(t.meddra_code).startswith("1002936") for t in prefix)
    assert "Neutrophil count decreased" in [t.term for t in prefix]


def test_search_without_words_finds_nothing_and_limit_applies(db):
    assert search_terms("   ") == []
    assert len(search_terms("disorders", limit=5)) == 5


# --- synonyms and abbreviations (issue 11 C11) ------------------------------------------------

# What a site types -> the CTCAE v4.03 term it means, hand-checked against the CSV's term names
# (and, for ALT/SGPT and AST/SGOT, against the terms' own definitions there).
SYNONYM_CASES = [
    ("hand-foot", "Palmar-plantar erythrodysesthesia syndrome"),
    ("Hand foot syndrome", "Palmar-plantar erythrodysesthesia syndrome"),
    ("hand-foot skin reaction", "Palmar-plantar erythrodysesthesia syndrome"),
    ("HFSR", "Palmar-plantar erythrodysesthesia syndrome"),
    ("HFS", "Palmar-plantar erythrodysesthesia syndrome"),
    ("PPE", "Palmar-plantar erythrodysesthesia syndrome"),
    ("ALT", "Alanine aminotransferase increased"),
    ("sgpt", "Alanine aminotransferase increased"),
    ("AST", "Aspartate aminotransferase increased"),
    ("SGOT", "Aspartate aminotransferase increased"),
    ("ANC", "Neutrophil count decreased"),
    ("neutropenia", "Neutrophil count decreased"),
    ("QTc", "Electrocardiogram QT corrected interval prolonged"),
    ("QT prolongation", "Electrocardiogram QT corrected interval prolonged"),
    ("PLT", "Platelet count decreased"),
    ("thrombocytopenia", "Platelet count decreased"),
    ("WBC", "White blood cell decreased"),
    ("leucopenia", "White blood cell decreased"),
    ("leukopenia", "White blood cell decreased"),
    ("Hb", "Anemia"),
    ("Hgb", "Anemia"),
    ("anaemia", "Anemia"),
    ("haemoglobin", "Anemia"),
    ("ALP", "Alkaline phosphatase increased"),
    ("HTN", "Hypertension"),
    ("high blood pressure", "Hypertension"),
    ("urine protein", "Proteinuria"),
    ("TSH", "Hypothyroidism"),
    ("DVT", "Thromboembolic event"),
    ("diarrhoea", "Diarrhea"),
]


@pytest.mark.parametrize(("typed", "meant"), SYNONYM_CASES)
def test_every_synonym_names_a_term_of_the_dictionary(typed, meant):
    assert ctcae.synonym_terms(typed)[0] == meant
    assert meant in BY_NAME


def test_every_synonym_of_the_table_is_a_term_of_the_dictionary():
    targets = {name for names in ctcae.SYNONYMS.values() for name in names}
    assert targets <= set(BY_NAME)


def test_an_unknown_word_or_a_part_of_a_synonym_is_no_synonym():
    assert ctcae.synonym_terms("hand") == ()
    assert ctcae.synonym_terms("") == ()
    assert ctcae.synonym_terms("alt x") == ()


@pytest.mark.parametrize(("typed", "meant"), SYNONYM_CASES)
def test_search_finds_the_term_of_a_synonym_first(db, typed, meant):
    assert search_terms(typed)[0].term == meant


def test_search_by_synonym_keeps_the_other_matches_after_it(db):
    found = [t.term for t in search_terms("neutropenia")]
    assert found[:2] == ["Neutrophil count decreased", "Febrile neutropenia"]
    tsh = [t.term for t in search_terms("TSH")]
    assert tsh[:2] == ["Hypothyroidism", "Hyperthyroidism"]
    assert [t.term for t in search_terms("Hb")][:2] == ["Anemia", "Hemoglobin increased"]
