"""``{% query_badge record "field" %}``: beside a field of a CRF page, the number of its
unresolved queries as a badge that opens their thread in place (htmx), and for a monitor or
data manager a link to raise a query on the field. One database query per record and page
(the counts of all the record's fields are read at the first badge)."""

from django import template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe

from queries import records, selectors, services, workflow
from queries import records as records_module

register = template.Library()
_CACHE = "queries_badge_counts"


@register.simple_tag(takes_context=True)
def query_badge(context, record, field):
    if record is None or getattr(record, "pk", None) is None:
        return ""
    label = record._meta.label_lower
    if label not in records.RECORD_TYPES:
        return ""
    cache = context.render_context.setdefault(_CACHE, {})
    key = (label, record.pk)
    if key not in cache:
        cache[key] = selectors.unresolved_by_field(label, record.pk)
    count = cache[key].get(field, 0)
    request = context.get("request")
    user = getattr(request, "user", None)
    subject_id = getattr(record, "subject_id", None)
    may_raise = False
    if user is not None and subject_id is not None and "subject" in context:
        may_raise = services.role_of(user, context["subject"].site_id) in (
            "monitor",
            "data_manager",
        )
    if not count and not may_raise:
        return ""
    target = f"qthread-{label.replace('.', '-')}-{record.pk}-{field}"
    return render_to_string(
        "queries/_badge.html",
        {
            "count": count,
            "target": target,
            "thread_url": reverse("queries:thread", args=[label, record.pk, field]),
            "raise_url": reverse("queries:raise", args=[label, record.pk]) + f"?field={field}"
            if may_raise
            else "",
            "field": field,
        },
    )


@register.simple_tag(takes_context=True)
def query_badges(context, record):
    """A badge for every field of ``record`` with unresolved queries (for pages that lay
    their fields out in several templates), with the field's name."""
    if record is None or getattr(record, "pk", None) is None:
        return ""
    label = record._meta.label_lower
    if label not in records.RECORD_TYPES:
        return ""
    cache = context.render_context.setdefault(_CACHE, {})
    key = (label, record.pk)
    if key not in cache:
        cache[key] = selectors.unresolved_by_field(label, record.pk)
    parts = []
    for field, count in sorted(cache[key].items()):
        if not count:
            continue
        parts.append(
            render_to_string(
                "queries/_badge.html",
                {
                    "count": count,
                    "target": f"qthread-{label.replace('.', '-')}-{record.pk}-{field}",
                    "thread_url": reverse("queries:thread", args=[label, record.pk, field]),
                    "raise_url": "",
                    "field": field,
                    "field_label": records.field_label(label, field),
                },
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 -- rendered templates, escaped there


@register.simple_tag(takes_context=True)
def may_raise_query(context, subject) -> bool:
    """``{% may_raise_query subject as x %}``: may the user raise queries at its site?"""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or subject is None:
        return False
    return services.role_of(user, subject.site_id) in workflow.REVIEWERS


@register.simple_tag(takes_context=True)
def prefetch_query_badges(context, records):
    """``{% prefetch_query_badges rows %}`` before a list's loop: the counts of every row's
    fields in one query per model, so ``{% query_badges row %}`` in the loop reads no more
    (a list page costs the same queries for 1 row as for 30)."""
    by_label: dict[str, list[int]] = {}
    for record in records or ():
        if record is not None and getattr(record, "pk", None) is not None:
            by_label.setdefault(record._meta.label_lower, []).append(record.pk)
    cache = context.render_context.setdefault(_CACHE, {})
    for label, ids in by_label.items():
        if label not in records_module.RECORD_TYPES:
            continue
        for pk, counts in selectors.unresolved_by_field_many(label, ids).items():
            cache[(label, pk)] = counts
    return ""
