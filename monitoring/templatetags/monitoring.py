"""``{% monitoring_bar record %}``: on a form's page, its hold in force (frozen / locked, why),
its SDV state and the way to its monitoring page."""

from django import template

from monitoring import selectors

register = template.Library()


@register.inclusion_tag("monitoring/_bar.html", takes_context=True)
def monitoring_bar(context, record):
    if record is None or record.pk is None:
        return {"status": None}
    return {"status": selectors.record_status(record), "request": context.get("request")}
