"""The pure metrics of the query pages (queries/metrics.py), with hand-worked values."""

import datetime as dt

import pytest

from alter_s006 import protocol as P
from queries import metrics

D = dt.date


@pytest.mark.parametrize(
    "days,bucket",
    [(0, 0), (7, 0), (8, 1), (30, 1), (31, 2), (400, 2), (-1, None)],
)
def test_age_buckets_both_sides_of_each_limit(days, bucket):
    assert metrics.bucket_of(days, P.QUERY_AGE_BUCKETS) == bucket


def test_bucket_keys():
    assert [metrics.bucket_key(b) for b in P.QUERY_AGE_BUCKETS] == ["0-7", "8-30", "31-"]


def f(site, raised, answered=None, closed=None, field="ae.onset_date", check=""):
    return metrics.QueryFacts(site, raised, answered, closed, field, check)


def test_per_site_and_month_by_hand():
    rows = metrics.by_site_and_month(
        [
            f("GZ01", D(2026, 1, 5), D(2026, 1, 7), D(2026, 1, 10)),  # 2 and 5 days
            f("GZ01", D(2026, 1, 20), D(2026, 2, 3), D(2026, 2, 4)),  # 14 and 15 days
            f("GZ01", D(2026, 1, 31), D(2026, 2, 1)),  # 1 day, not closed
            f("GZ01", D(2026, 2, 2)),  # neither
            f("SH02", D(2026, 1, 9), None, D(2026, 1, 9)),  # closed the same day (system)
        ]
    )
    table = {
        (r.site, r.month): (
            r.raised,
            r.answered,
            r.closed,
            r.median_days_to_answer,
            r.median_days_to_close,
        )
        for r in rows
    }
    assert table == {
        ("GZ01", "2026-01"): (3, 1, 1, 2, 5),
        ("GZ01", "2026-02"): (1, 2, 1, 7.5, 15),  # median of 14 and 1
        ("SH02", "2026-01"): (1, 0, 1, None, 0),
    }
    assert [(r.site, r.month) for r in rows] == [
        ("GZ01", "2026-01"),
        ("GZ01", "2026-02"),
        ("SH02", "2026-01"),
    ]


def test_top_ten_most_frequent_first_ties_by_name():
    values = ["b"] * 3 + ["a"] * 3 + ["c"] * 5 + [""] * 9 + [f"x{i}" for i in range(12)]
    result = metrics.top(values, P.QUERY_METRICS_TOP)
    assert result[:3] == [("c", 5), ("a", 3), ("b", 3)]
    assert len(result) == 10 and result[3] == ("x0", 1)
