"""The query list's filters (issue 14 section 1: site, subject, CRF, field, status, origin,
edit check, age 0–7 / 8–30 / > 30 days), read once for the page, its CSV and the API, and
the counts the badges and the subject timeline show."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Case, Count, DurationField, ExpressionWrapper, F, When
from django.db.models.functions import Coalesce, ExtractDay, Now
from django.utils.translation import gettext as _

from accounts.access import scope
from alter_s006 import protocol as P
from alter_s006.query_params import ID_MAX, BadQueryParameter
from queries import metrics, records, workflow
from queries.models import Query

UNRESOLVED = "unresolved"  # status filter: open or answered
ALL = "all"
STATUSES = (UNRESOLVED, *Query.Status.values, ALL)
AGE_KEYS = [metrics.bucket_key(b) for b in P.QUERY_AGE_BUCKETS]
TEXT_MAX = 60


@dataclass(frozen=True)
class Filters:
    site: int | None = None
    subject: int | None = None
    record_type: str = ""
    field: str = ""
    status: str = UNRESOLVED
    origin: str = ""
    edit_check: str = ""
    age: str = ""

    def as_params(self) -> dict:
        return {k: v for k, v in vars(self).items() if v not in (None, "")}


def _bad(name: str, message: str):
    raise BadQueryParameter(name, message)


def _id(params, name):
    raw = (params.get(name) or "").strip()
    if raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= ID_MAX:
        _bad(name, _("“%(name)s” must be the number of a record.") % {"name": name})
    return int(raw)


def _text(params, name):
    value = (params.get(name) or "").strip()
    if "\x00" in value or len(value) > TEXT_MAX:
        _bad(
            name,
            _("“%(name)s” must be at most %(n)s characters, without NUL.")
            % {"name": name, "n": TEXT_MAX},
        )
    return value


def _choice(params, name, allowed, default=""):
    value = (params.get(name) or "").strip() or default
    if value and value not in allowed:
        _bad(
            name,
            _("“%(name)s” must be one of: %(values)s.")
            % {"name": name, "values": ", ".join(allowed)},
        )
    return value


def parse(params) -> Filters:
    """The filters of a request's query string; a value no filter takes is a 400."""
    return Filters(
        site=_id(params, "site"),
        subject=_id(params, "subject"),
        record_type=_choice(params, "record_type", list(records.RECORD_TYPES)),
        field=_text(params, "field"),
        status=_choice(params, "status", STATUSES, UNRESOLVED),
        origin=_choice(params, "origin", Query.Origin.values),
        edit_check=_text(params, "edit_check"),
        age=_choice(params, "age", AGE_KEYS),
    )


def _days(start, end):
    return ExtractDay(ExpressionWrapper(end - start, output_field=DurationField()))


def filtered(user, sites, filters: Filters):
    """The queries of ``sites`` the user may see, filtered, oldest first, with ``days_open``
    (whole days from raising to closure, or to now while unresolved) and ``days_idle`` (since
    the last action), counted by the database's clock."""
    rows = scope(Query.objects.filter(subject__site__in=sites), user, site_path="subject__site")
    f = filters
    if f.site is not None:
        rows = rows.filter(subject__site_id=f.site)
    if f.subject is not None:
        rows = rows.filter(subject_id=f.subject)
    if f.record_type:
        rows = rows.filter(record_type=f.record_type)
    if f.field:
        rows = rows.filter(field=f.field)
    if f.status == UNRESOLVED:
        rows = rows.filter(status__in=workflow.UNRESOLVED)
    elif f.status != ALL:
        rows = rows.filter(status=f.status)
    if f.origin:
        rows = rows.filter(origin=f.origin)
    if f.edit_check:
        rows = rows.filter(edit_check=f.edit_check)
    if f.age:
        low, high = P.QUERY_AGE_BUCKETS[AGE_KEYS.index(f.age)]
        rows = rows.filter(raised_at__lte=Now() - dt.timedelta(days=low))
        if high is not None:
            rows = rows.filter(raised_at__gt=Now() - dt.timedelta(days=high + 1))
    end = Case(
        When(status__in=workflow.UNRESOLVED, then=Now()),
        default=Coalesce(F("closed_at"), Now()),
    )
    return (
        rows.select_related("subject__site")
        .annotate(
            days_open=_days(F("raised_at"), end),
            days_idle=_days(Coalesce(F("last_action_at"), F("raised_at")), Now()),
        )
        .order_by("raised_at", "id")
    )


def unresolved_by_field(label: str, record_id: int) -> dict[str, int]:
    """field -> number of unresolved queries on one record (one query)."""
    return dict(
        Query.objects.filter(record_type=label, record_id=record_id, status__in=workflow.UNRESOLVED)
        .values_list("field")
        .annotate(n=Count("id"))
        .values_list("field", "n")
    )


def unresolved_by_visit(subject) -> dict[int, int]:
    """visit id -> number of unresolved queries on records of that visit (one query)."""
    return dict(
        Query.objects.filter(subject=subject, visit__isnull=False, status__in=workflow.UNRESOLVED)
        .values_list("visit_id")
        .annotate(n=Count("id"))
        .values_list("visit_id", "n")
    )


def unresolved_by_field_many(label: str, record_ids) -> dict[int, dict[str, int]]:
    """record id -> field -> unresolved queries, for many records of one model (one query)."""
    ids = list(record_ids)
    out: dict[int, dict[str, int]] = {pk: {} for pk in ids}
    if not ids:
        return out
    rows = (
        Query.objects.filter(record_type=label, record_id__in=ids, status__in=workflow.UNRESOLVED)
        .values_list("record_id", "field")
        .annotate(n=Count("id"))
        .values_list("record_id", "field", "n")
    )
    for record_id, field, n in rows:
        out[record_id][field] = n
    return out
