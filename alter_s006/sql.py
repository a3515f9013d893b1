"""Small SQL helpers shared by the apps."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models.expressions import RawSQL


def id_array(ids: Iterable[int]) -> RawSQL:
    """``field__in=id_array(ids)``: the ids as ONE array parameter (``IN (SELECT
    unnest(%s))``), not one placeholder each — a subject matrix asks about thousands of
    visits, and binding thousands of parameters costs more than the query itself."""
    return RawSQL("SELECT unnest(%s::bigint[])", [list(ids)])
