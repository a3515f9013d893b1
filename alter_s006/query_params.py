"""Query parameters of the pages, read and checked in one place.

A value a page cannot use is a 400 that names the parameter and says what it takes, never a
500 from the database (a NUL character, "abc" as an id) or from date arithmetic (year 1).
``bad_request`` is the project's 400 handler (``alter_s006.urls.handler400``).
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import BadRequest
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults

from alter_s006 import protocol as P

ID_MAX = 2**63 - 1  # a PostgreSQL bigint: every primary key of the project
_DIGITS = re.compile(r"\d+", re.ASCII)
_MONTH = re.compile(r"(\d{4})-(\d{2})", re.ASCII)


class BadQueryParameter(BadRequest):
    """A query parameter the page cannot use; ``message`` is shown to the user."""

    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name = name
        self.message = message


def text(request, name: str, *, max_length: int = 100) -> str:
    """A search text: "" when absent, cut to ``max_length``; a NUL character is refused
    (PostgreSQL cannot compare it)."""
    value = request.GET.get(name, "")
    if "\x00" in value:
        raise BadQueryParameter(
            name,
            _("“%(name)s” contains a NUL character, which no search can match: remove it.")
            % {"name": name},
        )
    return value[:max_length]


def whole_number(request, name: str, *, min_value: int = 1, max_value: int = ID_MAX) -> int | None:
    """A whole number from ``min_value`` to ``max_value`` (default: a record id), or None."""
    raw = request.GET.get(name, "").strip()
    if raw == "":
        return None
    if not _DIGITS.fullmatch(raw) or not min_value <= int(raw) <= max_value:
        raise BadQueryParameter(
            name,
            _("“%(name)s” must be a whole number from %(min)s to %(max)s.")
            % {"name": name, "min": min_value, "max": max_value},
        )
    return int(raw)


def iso_date(request, name: str) -> dt.date | None:
    """A date written YYYY-MM-DD within the plausible dates, or None."""
    raw = request.GET.get(name, "").strip()
    if raw == "":
        return None
    try:
        value = dt.date.fromisoformat(raw) if len(raw) == 10 and raw.isascii() else None
    except ValueError:
        value = None
    if value is None or not P.EARLIEST_PLAUSIBLE_DATE <= value <= P.LATEST_PLAUSIBLE_DATE:
        raise BadQueryParameter(
            name,
            _("“%(name)s” must be a date written YYYY-MM-DD from %(first)s to %(last)s.")
            % {
                "name": name,
                "first": P.EARLIEST_PLAUSIBLE_DATE.isoformat(),
                "last": P.LATEST_PLAUSIBLE_DATE.isoformat(),
            },
        )
    return value


def first_month() -> dt.date:
    return P.EARLIEST_PLAUSIBLE_DATE.replace(day=1)


def last_month() -> dt.date:
    return P.LATEST_PLAUSIBLE_DATE.replace(day=1)


def month(request, name: str = "month") -> dt.date | None:
    """The first day of a month written YYYY-MM within the plausible dates, or None."""
    raw = request.GET.get(name, "").strip()
    if raw == "":
        return None
    match = _MONTH.fullmatch(raw)
    value = None
    if match and 1 <= int(match[2]) <= 12:
        value = dt.date(int(match[1]), int(match[2]), 1)
    if value is None or not first_month() <= value <= last_month():
        raise BadQueryParameter(
            name,
            _("“%(name)s” must be a month written YYYY-MM from %(first)s to %(last)s.")
            % {
                "name": name,
                "first": first_month().strftime("%Y-%m"),
                "last": last_month().strftime("%Y-%m"),
            },
        )
    return value


def bad_request(request, exception=None):
    """The 400 page: the reason when it is ours to tell (a query parameter). Anything else
    (a forged Host header, a body over the limit) gets Django's page from the same template
    without the request, which such a request may not be fit to render."""
    if request.path.startswith("/api/"):
        from alter_s006.errors import error_body

        if isinstance(exception, BadQueryParameter):
            body = error_body(exception.message, "invalid_query", exception.name)
        else:
            body = error_body("Bad request", "bad_request")
        return JsonResponse(body, status=400)
    if isinstance(exception, BadQueryParameter):
        return render(request, "400.html", {"reason": exception.message}, status=400)
    return defaults.bad_request(request, exception, template_name="400.html")
