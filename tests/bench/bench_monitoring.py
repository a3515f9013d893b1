"""Benchmark, run by hand (not collected by the suite):

    .venv/bin/pytest tests/bench/bench_monitoring.py -s -p no:cacheprovider

Issue 14 "Measure and report": the SQL query count and median time of
- the query list with 20 and with 2,000 queries (a page of 50 either way), and
- the subject matrix with 1 subject and with 48 enrolled subjects (~54 visits each),
each as a ratio to the smaller case measured in the same run (the machine is shared).
The query counts must be equal.
"""

import statistics
import time

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from queries.models import Query
from subjects.models import Subject, Visit
from tests.bench.generate import generate

RUNS = 15


def _measure(client, url, runs=RUNS):
    client.get(url)  # warm up
    reset_queries()
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    queries = len(ctx.captured_queries)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        client.get(url)
        times.append(time.perf_counter() - start)
    return queries, statistics.median(times) * 1000


def _queries(subjects, n):
    rows = []
    for i in range(n):
        s = subjects[i % len(subjects)]
        rows.append(
            Query(
                subject=s,
                record_type="subjects.subject",
                record_id=s.pk,
                field="initials",
                text=f"Please check #{i}",
                origin=Query.Origin.MANUAL,
            )
        )
    Query.objects.bulk_create(rows)


@pytest.mark.django_db
def test_bench_monitoring(client):
    study = generate(49, n_sites=1, enrolled_share=1.0, progress=False)
    dm = study.data_manager
    client.force_login(dm)
    subjects = list(Subject.objects.order_by("pk"))
    visits = Visit.objects.filter(subject__in=subjects[1:]).count()
    rows = []
    # the matrix: the first subject alone (filter) against the 48 others on one page
    one = f"{reverse('monitoring:matrix')}?subject={subjects[0].pk}"
    rows.append(("matrix, 1 subject", *_measure(client, one)))
    Query.objects.all().delete()
    _queries(subjects, 20)
    rows.append(("query list, 20 queries", *_measure(client, reverse("queries:list"))))
    _queries(subjects, 1980)
    rows.append(("query list, 2,000 queries", *_measure(client, reverse("queries:list"))))
    many = reverse("monitoring:matrix") + f"?site={study.sites[0].pk}&page=1"
    rows.append((f"matrix, 49 subjects, {visits} visits", *_measure(client, many)))
    base = {"matrix": rows[0][2], "query": rows[1][2]}
    print()
    for label, q, ms in rows:
        ratio = ms / base["matrix" if label.startswith("matrix") else "query"]
        print(f"{label:<36} {q:>3} queries  {ms:8.1f} ms median of {RUNS}  x{ratio:.2f}")
    assert rows[1][1] == rows[2][1]
