"""``{{ note|recist_note }}`` (``{% load recist_notes %}``): a RECIST note in words."""

from django import template

from assessments.notes import note_text

register = template.Library()


@register.filter
def recist_note(note) -> str:
    """A note of ``assessments.recist`` (or one stored as ``{"code", "params"}``) in words."""
    return note_text(note)
