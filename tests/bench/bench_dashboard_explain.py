"""Benchmark, run by hand (not collected by the suite):

    TEST_DATABASE_NAME=bench_h9_explain .venv/bin/pytest tests/bench/bench_dashboard_explain.py \
        -s -p no:cacheprovider          (BENCH_SUBJECTS=5000 by default: ~134 k visits)

Issue 12, goal 6: the dashboard's overdue / due-soon visit lists. Builds the study with the
generator (``tests/bench/generate.py``), then runs EXPLAIN (ANALYZE, BUFFERS) on the exact
SQL the dashboard sends (captured from ``_visit_rows``, for all sites and for one site)
twice in the same run: without the open-visit indexes (dropped by the owner: "before") and
with them (re-created from ``Visit.Meta.indexes``, the migration's DDL: "after"). Prints
both plans, the execution times and the load average.
"""

from __future__ import annotations

import os
import re
import statistics

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.db_roles import owner_connection
from subjects.models import Visit
from tests.bench.generate import generate

pytestmark = pytest.mark.django_db(transaction=True)

N_SUBJECTS = int(os.environ.get("BENCH_SUBJECTS", "5000"))
RUNS = 5
OPEN_VISIT_INDEXES = ("visit_open_latest_idx", "visit_open_target_idx", "visit_open_earliest_idx")


def dashboard_sql(client, user, sites) -> list[str]:
    """The SQL on subjects_visit the dashboard sends for ``user``, as sent to the database.

    From the page itself; if the page does not render (someone is editing its template),
    from the view's own query function, the querysets the page slices and counts.
    """
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        try:
            ok = client.get(reverse("home")).status_code == 200
        except Exception:  # noqa: BLE001 - a template being edited: fall back below
            ok = False
    if not ok:
        from subjects import views

        with CaptureQueriesContext(connection) as ctx:
            for which in views.VISIT_LISTS:
                rows = views._open_visits(sites, which)
                list(rows[: views.DASHBOARD_SHOWN])
                rows.count()
    return [q["sql"] for q in ctx.captured_queries if "subjects_visit" in q["sql"]]


def _label(sql: str) -> str:
    kind = "count" if "COUNT(" in sql.upper() else "rows"
    order = re.search(r'ORDER BY "subjects_visit"\."(\w+)"', sql)
    return (
        f"{kind} by {order.group(1)}"
        if order
        else kind + (" overdue" if '"latest" <' in sql else " due")
    )


def explain(sql: str) -> tuple[list[str], float]:
    """The plan (last of RUNS runs) and the median execution time in ms."""
    times, plan = [], []
    with connection.cursor() as cursor:
        for _ in range(RUNS):
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = [row[0] for row in cursor.fetchall()]
            found = next(line for line in plan if line.startswith("Execution Time"))
            times.append(float(re.search(r"([\d.]+) ms", found).group(1)))
    return plan, statistics.median(times)


def _ddl(create: bool) -> None:
    with owner_connection() as owner, owner.schema_editor() as editor:
        for index in Visit._meta.indexes:
            if index.name in OPEN_VISIT_INDEXES:
                if create:
                    editor.add_index(Visit, index)
                else:
                    editor.remove_index(Visit, index)
        editor.execute("ANALYZE subjects_visit")


def test_bench_dashboard_explain(client):
    with connection.cursor() as cursor:  # the generator's many small commits, not fsynced
        cursor.execute("SET synchronous_commit = off")
    study = generate(N_SUBJECTS)
    print()
    print("generator:", study.summary())
    site = study.sites[0]
    users = {
        "data manager": study.data_manager,
        f"coordinator {site.code}": study.coordinators[site.pk],
    }
    queries = {}
    scopes = {"data manager": study.sites, f"coordinator {site.code}": [site]}
    for who, user in users.items():
        for sql in dashboard_sql(client, user, scopes[who]):
            queries[who, _label(sql)] = sql
    assert len(queries) >= 4, list(queries)

    results = {}
    _ddl(create=False)
    for key, sql in queries.items():
        results["before", *key] = explain(sql)
    _ddl(create=True)
    for key, sql in queries.items():
        results["after", *key] = explain(sql)

    open_visits = Visit.objects.filter(actual_date__isnull=True, missed=False).count()
    print(f"\nvisits: {Visit.objects.count()}, open: {open_visits}")
    for (who, name), sql in queries.items():
        print(f"\nSQL ({who}, {name}):\n  {sql}")
    for (when, who, name), (plan, ms) in results.items():
        print(f"\n=== {when}: {name}, {who}: {ms:.2f} ms median of {RUNS}")
        print("\n".join("  " + line for line in plan))
    print("\nsummary (median execution time of EXPLAIN ANALYZE, ms)")
    print(f"{'query':<24} {'user':<20} {'before':>8} {'after':>8}  plan after")
    for who, name in queries:
        before = results["before", who, name][1]
        plan, after = results["after", who, name]
        used = sorted(
            set(
                re.findall(
                    r"(Index Only Scan|Index Scan|Bitmap Index Scan)"
                    r" (?:Backward )?(?:using|on) (visit_open_\w+)",
                    "\n".join(plan),
                )
            )
        )
        print(f"{name:<24} {who:<20} {before:>8.2f} {after:>8.2f}  {used}")
    print(f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (after the run)")

    # after: the lists the dashboard shows (all sites) read the open visits in order through
    # an index, no scan and sort (the counts and a one-site scope are printed, not asserted:
    # the planner may rightly prefer the subject's own index there)
    for who, name in queries:
        if who == "data manager" and name.startswith("rows"):
            after = "\n".join(results["after", who, name][0])
            assert "Index Scan using visit_open_" in after, (who, name, after)
