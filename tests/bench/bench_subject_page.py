"""Benchmark, run by hand (not collected by the suite):

    .venv/bin/pytest tests/bench/bench_subject_page.py -s

Prints the SQL query count and the median render time of the subject page with 1 visit and
with ~50 visits, and of the dashboard. The counts must be equal (no query per visit).
"""

import datetime as dt
import statistics
import time

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import enrol, make_subject


def _measure(client, url, runs=20):
    client.get(url)  # warm up
    reset_queries()  # the debug log is a bounded deque: a full one captures nothing
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    queries = len(ctx.captured_queries)  # read now: the next request clears the log
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(url)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200
    return queries, statistics.median(times) * 1000


@pytest.mark.django_db
def test_bench_subject_page(client, site_a, coordinator_a):
    client.force_login(coordinator_a)
    one = make_subject(site_a, coordinator_a, initials="ONE")
    many = make_subject(site_a, coordinator_a, initials="MNY")
    today = site_a.today()
    enrol(many, by=coordinator_a, on_date=today, c1d1=today + dt.timedelta(days=1))
    rows = []
    for label, subject in (("1 visit", one), (f"{many.visits.count()} visits", many)):
        q, ms = _measure(client, reverse("subjects:detail", args=[subject.pk]))
        rows.append((f"subject page, {label}", q, ms))
    q, ms = _measure(client, reverse("home"))
    rows.append(("dashboard", q, ms))
    print()
    for label, q, ms in rows:
        print(f"{label:<28} {q:>3} queries  {ms:7.1f} ms median of 20")
    assert rows[0][1] == rows[1][1]
