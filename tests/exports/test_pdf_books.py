"""The blank CRF book and the annotated CRF (issue 15 section 1): every CRF of
``catalogue().crfs`` with its fields, units and code lists; the annotated one with variable
names, types and the ODM OIDs, the same metadata as the CSV dictionary and the ODM."""

from __future__ import annotations

from exports.crf_book import annotated_crf_pdf, blank_crf_pdf
from exports.metadata import catalogue
from tests.exports.pdf_data import pike, text_of


def test_the_blank_book_has_every_crf_with_tick_boxes_and_units():
    pdf = blank_crf_pdf()
    text = text_of(pdf, raw=True)
    for ds in catalogue().crfs:
        assert str(ds.label) in text, ds.key
    vitals = text[text.index("Vital signs") :]
    assert "Systolic blood pressure" in vitals and "mm Hg" in vitals
    # a code list printed as its choices (the ECOG grades, the sex)
    assert "Female" in text and "Male" in text
    with pike(pdf) as doc, doc.open_outline() as outline:
        titles = [item.title for item in outline.root]
    assert titles == [str(ds.label) for ds in catalogue().crfs]


def test_the_annotated_crf_names_variables_types_units_code_lists_and_oids():
    text = text_of(annotated_crf_pdf(), raw=True).replace("\u00ad", "")
    vitals = catalogue().get("vital_signs")
    systolic = vitals.column("systolic")
    assert vitals.form_oid in text and vitals.group_oid in text
    assert systolic.oid("vital_signs") in text.replace(" ", "")
    assert "systolic integer mm Hg" in text
    screening = catalogue().get("screening")
    histology = screening.column("histology")
    assert histology.codelist.oid in text
    assert "leiomyosarcoma = Leiomyosarcoma" in text


def test_the_metadata_is_the_same_whatever_language_reads_it_first():
    """A Chinese request building the catalogue first once lost the units read from labels
    and printed every later PDF's code lists in Chinese."""
    from django.utils import translation

    catalogue.cache_clear()
    try:
        with translation.override("zh-hans"):
            timepoints = catalogue().get("timepoints")
        assert timepoints.column("sum_mm").unit == "mm"
        assert timepoints.column("overall_response").codelist.decode("PR") == "PR"
        relationship = catalogue().get("adverse_events").column("relationship")
        assert relationship.codelist.decode("probable") == "Probable"
    finally:
        catalogue.cache_clear()
