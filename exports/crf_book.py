"""The blank CRF book (for sites) and the annotated CRF (for data managers and statisticians),
both from ``catalogue().crfs``: the same datasets, columns, units and code lists as the CSV data
dictionary and the ODM MetaDataVersion (issue 15: one source of metadata for all three)."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _

from alter_s006 import protocol as P
from exports.metadata import catalogue
from exports.pdf import render_pdf


def _field(ds, column) -> dict:
    return {
        "name": column.name,
        "label": column.label,
        "type": column.data_type,
        "unit": column.unit,
        "length": column.length,
        "codelist": column.codelist,
        "derivation": column.derivation,
        "oid": column.oid(ds.key),
        "wide": column.data_type == "text" and (column.length or 1000) > 200,
    }


def crf_book() -> list[dict]:
    """Each CRF with the fields a site fills in (key columns are printed in the header)."""
    return [
        {
            "ds": ds,
            "oid": ds.form_oid,
            "group_oid": ds.group_oid,
            "fields": [_field(ds, c) for c in ds.columns if not c.key],
        }
        for ds in catalogue().crfs
    ]


def _render(template: str, title: str) -> bytes:
    context = {"study": P.TRIAL_ID, "forms": crf_book(), "printed": timezone.now()}
    return render_pdf(template, context, title=title)


def blank_crf_pdf() -> bytes:
    return _render("exports/pdf/blank_crf.html", _("Blank CRF book"))


def annotated_crf_pdf() -> bytes:
    return _render("exports/pdf/annotated_crf.html", _("Annotated CRF"))
