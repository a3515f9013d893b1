"""Benchmark, run by hand (not collected by the suite):

    TEST_DATABASE_NAME=bench_h10_lists .venv/bin/pytest tests/bench/bench_lists_scale.py \
        -s -p no:cacheprovider          (BENCH_SUBJECTS=5000, BENCH_SMALL=50, BENCH_ROUNDS=15)

Issue 12, goal 3: "At 5,000 subjects every page and list answers within 2x its time at 50
subjects, with the same number of queries."

One database, grown: ``generate(50)`` builds the small study (10 sites, through the
services); a few subjects are put on treatment with a serious adverse event (the SAE
listing), and one subject of the first site ("the subject") gets AEs, lab panels and an
SAE (its AE / lab / history pages). Every list is measured (median of BENCH_ROUNDS requests
through Django's test client, SQL queries of one request, response bytes) as the data
manager (all sites) and as the first site's coordinator. The study is then grown to
BENCH_SUBJECTS by the generator's own per-subject path (``register_subject``, screening,
signature, enrolment), the same set-based "visits done" step for the new subjects only, the
same share of SAEs, the owner's ANALYZE; everything is measured again. The two sizes are
measured one after the other (not interleaved): the load average is printed with each.

Rows over 2x the small study's median time, or with another query count, are flagged.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import time

import pytest
from django.db import connection, reset_queries
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import ApiToken
from audit.db_roles import owner_connection
from queries.models import Query
from safety import services as safety_services
from safety.models import AdverseEvent, CtcaeTerm, SaeReport
from subjects import services
from subjects.models import Subject, Visit
from tests.bench.generate import FAST_HASHERS, Study, _enrol, _timed, close_past_visits, generate

pytestmark = pytest.mark.django_db(transaction=True)

N_LARGE = int(os.environ.get("BENCH_SUBJECTS", "5000"))
N_SMALL = int(os.environ.get("BENCH_SMALL", "50"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
SAE_EVERY = 10  # one enrolled subject in ten (C1D1 a month ago or more) gets an SAE
API = "/api/v1"


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _grow(study: Study, n_total: int, seed: int = 13) -> None:
    """Register subjects up to ``n_total`` as ``generate`` does (same services, same shares),
    close the new subjects' past visits as it does (set-based, audited), ANALYZE."""
    rng = random.Random(seed)
    sites = study.sites
    last_pk = Subject.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    clock: dict = {}
    t_last = time.perf_counter()
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        for i in range(study.subjects, n_total):
            site = sites[i % len(sites)]
            today = site.today()
            enrol = rng.random() < 0.49
            if enrol:
                c1d1 = today - dt.timedelta(days=rng.randint(0, 730))
                consent = c1d1 - dt.timedelta(days=rng.randint(7, 20))
            else:
                consent = today - dt.timedelta(days=rng.randint(0, 25))
            with _timed(clock, "register_subject"):
                subject = services.register_subject(
                    site=site,
                    by=study.coordinators[site.pk],
                    sex=rng.choice("FM"),
                    date_of_birth=dt.date(rng.randint(1962, 1995), rng.randint(1, 12), 15),
                    initials="".join(rng.choice("ABCDEFGHJKLMNPQRSTWXYZ") for _ in range(3)),
                    consent_date=consent,
                    consent_version="2.1",
                )
            study.subjects += 1
            if enrol:
                _enrol(
                    subject,
                    study.investigators[site.pk],
                    study.coordinators[site.pk],
                    c1d1,
                    clock,
                )
                study.enrolled += 1
            if (i + 1) % 500 == 0:
                rate = 500 / (time.perf_counter() - t_last)
                t_last = time.perf_counter()
                parts = ", ".join(f"{k} {t * 1000 / n:.0f}" for k, (t, n) in clock.items())
                print(f"  grow: {i + 1} subjects, {rate:.0f}/s; ms per call: {parts}", flush=True)
                clock.clear()
        # the new subjects' closed visits: done, but for 3 % (overdue), as generate() does
        close_past_visits(sites, rng, 0.03, after_pk=last_pk)


def _analyze() -> None:
    with owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute("ANALYZE")


def _on_treatment(subject: Subject, by) -> Subject:
    subject.refresh_from_db()
    return services.change_status(
        subject=subject,
        target="on_treatment",
        on_date=subject.c1d1_date,
        reason="",
        by=by,
        expected_version=subject.version,
    )


def _serious_ae(subject: Subject, by, term: CtcaeTerm, day: dt.date):
    return safety_services.record_ae(
        subject=subject,
        by=by,
        term=term,
        grade=3,
        onset_date=day,
        end_date=day + dt.timedelta(days=5),
        outcome="recovered",
        serious=True,
        sae_hospitalisation=True,
    )


def _query_panel(subject: Subject, by, day: dt.date):
    """A lab panel whose ANC is grade 2 with no AE of that term: an open query (the query
    list grows with the study)."""
    return safety_services.record_lab_panel(
        subject=subject,
        by=by,
        sample_date=day,
        values={"anc": ("1.2", "10^9/L"), "hb": ("118", "g/L"), "alt": ("30", "U/L")},
    )


def _add_saes(study: Study, after_pk: int) -> int:
    """One SAE (and one lab panel raising a query) for every SAE_EVERY-th enrolled subject
    registered after ``after_pk`` whose C1D1 is at least 30 days back (put on treatment
    first). Returns how many."""
    term = CtcaeTerm.objects.get(term="Febrile neutropenia")
    cutoff = study.sites[0].today() - dt.timedelta(days=30)
    enrolled = Subject.objects.filter(
        pk__gt=after_pk, status="enrolled", c1d1_date__lte=cutoff
    ).order_by("pk")
    n = 0
    for k, subject in enumerate(enrolled):
        if k % SAE_EVERY:
            continue
        by = study.coordinators[subject.site_id]
        subject = _on_treatment(subject, by)
        _serious_ae(subject, by, term, subject.c1d1_date + dt.timedelta(days=9))
        _query_panel(subject, by, subject.c1d1_date + dt.timedelta(days=8))
        n += 1
    return n


def _the_subject(study: Study) -> Subject:
    """An enrolled subject of the first site with C1D1 >= 200 days back: on treatment, 8 AEs
    (one serious) and 8 lab panels; the same rows at both sizes."""
    site = study.sites[0]
    by = study.coordinators[site.pk]
    subject = (
        Subject.objects.filter(site=site, status__in=["enrolled", "on_treatment"])
        .filter(c1d1_date__lte=site.today() - dt.timedelta(days=200))
        .order_by("pk")
        .first()
    )
    if subject is None:  # the seed's small study has none that old: enrol one more
        subject = services.register_subject(
            site=site,
            by=by,
            sex="F",
            date_of_birth=dt.date(1970, 5, 15),
            initials="BEN",
            consent_date=site.today() - dt.timedelta(days=230),
            consent_version="2.1",
        )
        with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
            _enrol(
                subject,
                study.investigators[site.pk],
                by,
                site.today() - dt.timedelta(days=215),
                {},
            )
        study.subjects += 1
        study.enrolled += 1
        subject.refresh_from_db()
    if subject.status != "on_treatment":
        subject = _on_treatment(subject, by)
    terms = [CtcaeTerm.objects.get(term=t) for t in ("Hypertension", "Fatigue", "Nausea")]
    for k in range(8):
        day = subject.c1d1_date + dt.timedelta(days=21 * k + 1)
        if k == 3:
            _serious_ae(subject, by, CtcaeTerm.objects.get(term="Febrile neutropenia"), day)
        else:
            safety_services.record_ae(
                subject=subject,
                by=by,
                term=terms[k % 3],
                grade=2,
                onset_date=day,
                end_date=day + dt.timedelta(days=5),
                outcome="recovered",
            )
        safety_services.record_lab_panel(
            subject=subject,
            by=by,
            sample_date=day,
            values={"anc": ("1.2", "10^9/L"), "hb": ("118", "g/L"), "alt": ("52", "U/L")},
            systolic=150,
            diastolic=85,
        )
    return subject


def _targets(subject_pk: int) -> list[tuple[str, str, bool]]:
    """(label, url, api) of every list measured."""
    s = subject_pk
    return [
        ("subject list page", reverse("subjects:list"), False),
        ("API GET /subjects", f"{API}/subjects", True),
        ("screening log page", reverse("eligibility:log"), False),
        ("API GET /screening-log", f"{API}/screening-log", True),
        ("query list page", reverse("queries:list"), False),
        ("dashboard", reverse("home"), False),
        ("visits overdue page", reverse("subjects:visits", args=["overdue"]), False),
        ("visits due page", reverse("subjects:visits", args=["due"]), False),
        ("SAE listing page", reverse("safety:sae_list"), False),
        ("API GET /sae-reports", f"{API}/sae-reports", True),
        ("subject's AE list page", reverse("safety:ae_list", args=[s]), False),
        ("API subject's adverse-events", f"{API}/subjects/{s}/adverse-events", True),
        ("subject's lab panels page", reverse("safety:labs", args=[s]), False),
        ("API subject's lab-panels", f"{API}/subjects/{s}/lab-panels", True),
        ("subject's history page", reverse("subjects:history", args=[s]), False),
        ("API subject's history", f"{API}/subjects/{s}/history", True),
    ]


SQL_SAMPLES = 5


class _SqlClock:
    """Wall time of every statement the request sends (``execute_wrapper``: the round trip,
    rows included; Django's own captured times are rounded to the millisecond)."""

    def __init__(self):
        self.statements: list[tuple[float, str]] = []

    def __call__(self, execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append(((time.perf_counter() - start) * 1000, sql))


BASELINE = f"{API}/sites"
"""The baseline request, timed in turn with every measured one: the sites list (10 sites at
both sizes), through the same stack and token. The machine is shared: the time of a list is
read as a ratio to this baseline measured in the same rounds, so a load that changes between
the small and the large measurements cancels out."""


def _measure(client, url: str, headers: dict, base_headers: dict) -> tuple:
    """(median ms of ROUNDS, queries of one request, bytes, status, median SQL ms of one
    request over SQL_SAMPLES requests, that request's 3 slowest statements, median ms of
    the baseline request timed in turn with it)."""
    client.get(url, headers=headers)  # warm up (session, caches)
    reset_queries()  # the debug log is a bounded deque: a full one captures nothing
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, headers=headers)
    queries = len(ctx.captured_queries)
    status, size = response.status_code, len(response.content)
    sql_ms, slowest = [], []
    for _ in range(SQL_SAMPLES):
        clock = _SqlClock()
        with connection.execute_wrapper(clock):
            client.get(url, headers=headers)
        sql_ms.append(sum(ms for ms, _sql in clock.statements))
        slowest = sorted(clock.statements, key=lambda row: -row[0])[:3]
    times, base = [], []
    client.get(BASELINE, headers=base_headers)
    for _ in range(ROUNDS):
        start = time.perf_counter()
        client.get(url, headers=headers)
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
        client.get(BASELINE, headers=base_headers)
        base.append(time.perf_counter() - start)
    return (
        statistics.median(times) * 1000,
        queries,
        size,
        status,
        statistics.median(sql_ms),
        slowest,
        statistics.median(base) * 1000,
    )


def _measure_all(client, users: dict, tokens: dict, subject_pk: int) -> dict:
    results = {}
    for who, user in users.items():
        client.force_login(user)
        for label, url, api in _targets(subject_pk):
            token = {"Authorization": f"Bearer {tokens[who]}"}
            results[label, who] = _measure(client, url, token if api else {}, token)
    return results


def _counts() -> str:
    return (
        f"{Subject.objects.count()} subjects, {Visit.objects.count()} visits "
        f"({Visit.objects.filter(actual_date__isnull=True, missed=False).count()} open), "
        f"{AdverseEvent.objects.count()} AEs, {SaeReport.objects.count()} SAE reports, "
        f"{Query.objects.filter(status='open').count()} open queries"
    )


def test_bench_lists_scale(client):
    with connection.cursor() as cursor:  # the generator's many small commits, not fsynced
        cursor.execute("SET synchronous_commit = off")
    if not CtcaeTerm.objects.exists():
        safety_services.load_ctcae()
    began = time.perf_counter()
    study = generate(N_SMALL)
    subject = _the_subject(study)
    n_sae = _add_saes(study, after_pk=0)
    _analyze()
    site = study.sites[0]
    users = {"data manager": study.data_manager, f"coord {site.code}": study.coordinators[site.pk]}
    tokens = {who: ApiToken.issue(user)[1] for who, user in users.items()}
    print(
        f"\nsmall study: {_counts()} ({n_sae} SAEs added), built in "
        f"{time.perf_counter() - began:.0f} s"
    )

    load_small_before = _load()
    small = _measure_all(client, users, tokens, subject.pk)
    load_small_after = _load()
    print(f"small measured, load average {load_small_before} -> {load_small_after}", flush=True)

    began = time.perf_counter()
    last_pk = Subject.objects.order_by("-pk").values_list("pk", flat=True).first()
    _grow(study, N_LARGE)
    n_sae = _add_saes(study, after_pk=last_pk)
    _analyze()
    print(
        f"large study: {_counts()} ({n_sae} SAEs added), grown in "
        f"{time.perf_counter() - began:.0f} s"
    )

    load_large_before = _load()
    large = _measure_all(client, users, tokens, subject.pk)
    load_large_after = _load()

    print(
        f"\nmedian of {ROUNDS} requests (Django test client), SQL queries of one request, "
        f"response bytes; {N_SMALL} -> {N_LARGE} subjects"
    )
    print(
        f"load average: {N_SMALL}: {load_small_before} -> {load_small_after}; "
        f"{N_LARGE}: {load_large_before} -> {load_large_after}"
    )
    print(
        "x base: the list's time / the baseline's time in the same rounds (GET /sites); "
        "x norm: x base at the large size / x base at the small one (the goal: <= 2)"
    )
    print(
        f"| list | user | ms {N_SMALL} | ms {N_LARGE} | x time | x base {N_SMALL} | "
        f"x base {N_LARGE} | x norm | SQL ms {N_SMALL} | "
        f"SQL ms {N_LARGE} | queries {N_SMALL} | queries {N_LARGE} | bytes {N_SMALL} | "
        f"bytes {N_LARGE} | flag |"
    )
    print(
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| ---: | ---: | --- |"
    )
    failing = []
    for (label, who), (ms_s, q_s, b_s, st_s, sql_s, _slow, base_s) in small.items():
        ms_l, q_l, b_l, st_l, sql_l, slow_l, base_l = large[label, who]
        ratio = ms_l / ms_s
        rel_s, rel_l = ms_s / base_s, ms_l / base_l
        norm = rel_l / rel_s
        flags = []
        if norm > 2:
            flags.append("TIME > 2x")
        if q_l != q_s:
            flags.append("QUERIES differ")
        if st_s != 200 or st_l != 200:
            flags.append(f"status {st_s}/{st_l}")
        if flags:
            failing.append((label, who, flags, slow_l))
        print(
            f"| {label} | {who} | {ms_s:.1f} | {ms_l:.1f} | {ratio:.2f} | {rel_s:.2f} | "
            f"{rel_l:.2f} | {norm:.2f} | {sql_s:.1f} | "
            f"{sql_l:.1f} | {q_s} | {q_l} | {b_s} | {b_l} | "
            f"{'**' + ', '.join(flags) + '**' if flags else 'ok'} |"
        )
    print(f"\n{len(failing)} of {len(small)} rows fail the goal:")
    for label, who, flags, slow in failing:
        print(f"  {label} ({who}): {', '.join(flags)}; slowest statements at {N_LARGE}:")
        for ms, sql in slow:
            print(f"    {ms:6.1f} ms  {sql[:300]}")
