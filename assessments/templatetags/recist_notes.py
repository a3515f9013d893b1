"""``{{ note|recist_note }}`` (``{% load recist_notes %}``): a RECIST note in words."""

from django import template

from assessments.notes import label, note_text

register = template.Library()


@register.filter
def recist_note(note) -> str:
    """A note of ``assessments.recist`` (or one stored as ``{"code", "params"}``) in words."""
    return note_text(note)


@register.filter
def recist_label(value) -> str:
    """A RECIST input value in words ("no" -> 无); CR, PR ... are written as they are."""
    return label(value)
