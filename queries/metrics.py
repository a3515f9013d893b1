"""Query metrics and age buckets (issue 14 section 1: the query list's age filter "0–7 /
8–30 / > 30 days"; the metrics page "per site and month — raised, answered, closed, median
days to answer and to close, the ten most-queried fields and edit checks").

Pure: no Django import. Days are whole days between two dates (the site's calendar dates of
the two moments), as the query list shows them.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from statistics import median


def bucket_of(days: int, buckets: Sequence[tuple[int, int | None]]) -> int | None:
    """The index of the bucket ``days`` falls in (limits inclusive), or None."""
    for index, (low, high) in enumerate(buckets):
        if days >= low and (high is None or days <= high):
            return index
    return None


def bucket_key(bucket: tuple[int, int | None]) -> str:
    low, high = bucket
    return f"{low}-{high}" if high is not None else f"{low}-"


def days_between(start: dt.date, end: dt.date) -> int:
    return (end - start).days


@dataclass(frozen=True)
class QueryFacts:
    """What the metrics need of one query: its site, the site's dates of the steps."""

    site: str
    raised_on: dt.date
    answered_on: dt.date | None
    closed_on: dt.date | None
    field: str  # "record type.field"
    edit_check: str  # "" for a query raised by hand


@dataclass
class MonthRow:
    site: str
    month: str  # YYYY-MM
    raised: int = 0
    answered: int = 0
    closed: int = 0
    answer_days: list[int] = field(default_factory=list)
    close_days: list[int] = field(default_factory=list)

    @property
    def median_days_to_answer(self) -> float | None:
        return median(self.answer_days) if self.answer_days else None

    @property
    def median_days_to_close(self) -> float | None:
        return median(self.close_days) if self.close_days else None


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def by_site_and_month(facts: Iterable[QueryFacts]) -> list[MonthRow]:
    """Per site and month: the queries raised in that month, answered in it (first answer)
    and closed in it; the days to answer and to close count in the month of the answer /
    closure. Sorted by site, then month."""
    rows: dict[tuple[str, str], MonthRow] = {}

    def row(site, day):
        key = (site, _month(day))
        if key not in rows:
            rows[key] = MonthRow(site, key[1])
        return rows[key]

    for f in facts:
        row(f.site, f.raised_on).raised += 1
        if f.answered_on is not None:
            r = row(f.site, f.answered_on)
            r.answered += 1
            r.answer_days.append(days_between(f.raised_on, f.answered_on))
        if f.closed_on is not None:
            r = row(f.site, f.closed_on)
            r.closed += 1
            r.close_days.append(days_between(f.raised_on, f.closed_on))
    return [rows[k] for k in sorted(rows)]


def top(values: Iterable[str], n: int) -> list[tuple[str, int]]:
    """The ``n`` most frequent non-empty values, most frequent first (ties by name)."""
    counts = Counter(v for v in values if v)
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
