from django import template

from subjects.models import VISIT_STATUS_LABELS

register = template.Library()


@register.filter
def abs_days(value: int) -> int:
    """Days as a positive number (the wording says early or late)."""
    return abs(value)


@register.filter
def visit_status_label(status) -> str:
    """The translated label of a visit status (upcoming, due, overdue, done, missed)."""
    return VISIT_STATUS_LABELS.get(status, status)
