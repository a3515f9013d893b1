"""Every list is paginated one way (issue 12 goal 3), pages and API alike.

Pages: ``page = web_page(request, rows)`` reads ``?page=`` (a 400 page when it is not a whole
number; past the end: the last page), and ``{% include "_pagination.html" with page=page %}``
draws the links with the other query parameters (filters) kept in the URL.

API: an operation takes ``page`` and ``page_size`` query parameters (``PageQuery`` /
``PageSizeQuery``) and a ``response: HttpResponse`` parameter, and returns
``api_page(request, response, rows, page, page_size)``: the body stays a JSON list (the rows
of that page); ``X-Total-Count`` and an RFC 8288 ``Link`` header (``next`` / ``prev``) say
what else there is. A page past the end is an empty list.

Rows are counted and sliced by the database (``LIMIT`` / ``OFFSET``): give a QuerySet with
its ``select_related`` / ``prefetch_related`` in place, so a page costs the same number of
queries whatever its length.
"""

from __future__ import annotations

from typing import Annotated

from django.core.paginator import Page, Paginator
from django.http import HttpResponse
from django.utils.functional import cached_property

from alter_s006 import query_params
from alter_s006.api_types import Query, QueryInt  # the strict Query: page is a known parameter

PAGE_SIZE = 50
"""Rows a page by default."""
MAX_PAGE_SIZE = 100
"""The most rows a page may have (API ``page_size``)."""
MAX_PAGE = 10**6
COUNT_CAP = 1000
"""Lists that grow with the study's open work (overdue / due visits) count at most this many
rows: "1000+" instead of a ``COUNT(*)`` that reads every row (issue 12 goal 3)."""

PageQuery = Annotated[QueryInt, Query(1, description="Page number, from 1", ge=1, le=MAX_PAGE)]
PageSizeQuery = Annotated[
    QueryInt,
    Query(PAGE_SIZE, description=f"Rows a page, at most {MAX_PAGE_SIZE}", ge=1, le=MAX_PAGE_SIZE),
]
API_PAGE_DESCRIPTION = (
    f"Paginated: `page` (from 1) and `page_size` (default {PAGE_SIZE}, at most "
    f"{MAX_PAGE_SIZE}); the body is the page's rows, `X-Total-Count` the number of rows in "
    "all pages, `Link` the next and previous pages."
)


def count_upto(rows, cap: int | None = None) -> tuple[int, bool]:
    """``(n, capped)``: the number of ``rows`` up to ``cap`` (default :data:`COUNT_CAP`), and
    whether there are more.

    ``SELECT COUNT(*) FROM (SELECT ... LIMIT cap + 1)``: the database stops at the cap row, so
    the time does not grow with the table past it."""
    cap = COUNT_CAP if cap is None else cap
    n = rows.order_by()[: cap + 1].count()
    return min(n, cap), n > cap


class CappedPaginator(Paginator):
    """A paginator that counts at most ``cap`` rows (``capped`` says when there are more):
    the pages after the cap are not offered; the page says to narrow the list."""

    def __init__(self, object_list, per_page, cap: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap

    @cached_property
    def _counted(self) -> tuple[int, bool]:
        return count_upto(self.object_list, self.cap)

    @cached_property
    def count(self) -> int:
        return self._counted[0]

    @property
    def capped(self) -> bool:
        return self._counted[1]


def web_page(request, rows, size: int = PAGE_SIZE, count_cap: int | None = None) -> Page:
    """The page of ``rows`` asked for by ``?page=`` (400 if garbled, the last if too far).

    ``count_cap``: count at most that many rows (``page.paginator.capped`` when there are
    more), for lists that grow with the study."""
    number = query_params.whole_number(request, "page", max_value=MAX_PAGE) or 1
    if count_cap is not None:
        return CappedPaginator(rows, size, cap=count_cap).get_page(number)
    return Paginator(rows, size).get_page(number)


def api_page(request, response: HttpResponse, rows, page: int, page_size: int) -> list:
    """The rows of page ``page``; sets ``X-Total-Count`` and ``Link`` on ``response``."""
    paginator = Paginator(rows, page_size, allow_empty_first_page=True)
    total = paginator.count
    start = (page - 1) * page_size
    items = list(rows[start : start + page_size]) if start < total else []
    response["X-Total-Count"] = str(total)
    links = []
    if start + page_size < total:
        links.append(_link(request, page + 1, page_size, "next"))
    if page > 1:
        last = max(1, paginator.num_pages)
        links.append(_link(request, min(page - 1, last), page_size, "prev"))
    if links:
        response["Link"] = ", ".join(links)
    return items


def _link(request, page: int, page_size: int, rel: str) -> str:
    params = request.GET.copy()
    params["page"] = str(page)
    params["page_size"] = str(page_size)
    return f'<{request.build_absolute_uri(request.path)}?{params.urlencode()}>; rel="{rel}"'
