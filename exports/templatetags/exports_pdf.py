"""``{% crf_pdf_url record %}``: the PDF of a saved form, for the "PDF" link of the
monitoring bar every CRF page shows (empty if the form has no PDF)."""

from django import template
from django.urls import reverse

register = template.Library()


@register.simple_tag
def crf_pdf_url(record) -> str:
    from exports import pdf_forms
    from exports.metadata import catalogue

    if record is None or record.pk is None:
        return ""
    ds = catalogue().for_model(type(record))
    if ds is None or not pdf_forms.printable(ds):
        return ""
    return reverse("exports_pdf:crf", args=[ds.key, record.pk])
