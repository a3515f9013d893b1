"""Benchmark, run by hand (not collected by the suite):
    TEST_DATABASE_NAME=bench_exports .venv/bin/pytest tests/bench/bench_exports.py \
        -s -p no:cacheprovider        (BENCH_SUBJECTS=5000, BENCH_KINDS=csv,odm_transactional)

Issue 15: "Whole-study CSV zip + transactional ODM for 5,000 synthetic subjects: goal <= 60 s
each with peak RSS <= 400 MB; then 20,000 subjects, and say how time and memory grow."

The study: ``tests.bench.generate`` (registration, screening, signature, enrolment, the
schedule, through the services), then CRF data added set-based with the audit triggers
firing: vital signs at every visit held, 8 adverse events with a grade each per enrolled
subject, one correction with a reason for one vital-signs CRF in ten (an UPDATE on the
trail). Each export runs in a child process (``manage.py run_export``, the data manager's
command: the same service, job and file as the page), timed, its peak RSS read from
``getrusage(RUSAGE_CHILDREN)``. Baseline in the same run: the same tables read raw with
``COPY ... TO STDOUT`` (what the database alone costs); the ratio is printed.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import time

import pytest
from django.db import connection
from django.test import override_settings

from crfs.models import VitalSigns
from exports.metadata import catalogue
from safety.models import AdverseEvent, CtcaeTerm, GradeChange
from subjects.models import Subject, Visit
from tests.bench.generate import FAST_HASHERS, generate
from tests.test_celery import database_url

pytestmark = pytest.mark.django_db(transaction=True)

N = int(os.environ.get("BENCH_SUBJECTS", "5000"))
KINDS = os.environ.get("BENCH_KINDS", "csv,odm_transactional").split(",")
AES_PER_SUBJECT = 8


def _enrich(study, seed: int = 15) -> dict[str, int]:
    """CRF rows, set-based (bulk_create: the row triggers still write the audit trail)."""
    rng = random.Random(seed)
    users = {**study.coordinators}
    held = Visit.objects.filter(actual_date__isnull=False).values_list(
        "pk", "subject_id", "actual_date", "subject__site_id"
    )
    vitals = [
        VitalSigns(
            subject_id=sid,
            visit_id=vid,
            assessed_on=day,
            recorded_by=users[site],
            systolic=rng.randint(100, 150),
            diastolic=rng.randint(60, 95),
            heart_rate=rng.randint(55, 100),
            temperature=36 + rng.randint(0, 15) / 10,
            weight=50 + rng.randint(0, 400) / 10,
        )
        for vid, sid, day, site in held.iterator(5000)
    ]
    VitalSigns.objects.bulk_create(vitals, batch_size=2000)
    terms = list(CtcaeTerm.objects.values_list("pk", flat=True)[:200])
    aes, enrolled = [], Subject.objects.filter(c1d1_date__isnull=False)
    for s in enrolled.values_list("pk", "c1d1_date", "site_id").iterator(5000):
        for _ in range(AES_PER_SUBJECT):
            grade = rng.randint(1, 3)
            aes.append(
                AdverseEvent(
                    subject_id=s[0],
                    term_id=rng.choice(terms),
                    onset_date=s[1] + dt.timedelta(days=rng.randint(0, 300)),
                    ongoing=True,
                    grade=grade,
                    relationship="possible",
                    outcome="not_recovered",
                    recorded_by=users[s[2]],
                    treatment_given="=SUM(A1) <script>alert(1)</script>",
                )
            )
    AdverseEvent.objects.bulk_create(aes, batch_size=2000)
    GradeChange.objects.bulk_create(
        [
            GradeChange(
                ae=ae,
                grade=ae.grade,
                from_date=ae.onset_date,
                recorded_by_id=ae.recorded_by_id,
            )
            for ae in aes
        ],
        batch_size=2000,
    )
    with connection.cursor() as c:
        c.execute("SELECT set_config('alter.reason', 'transcription error', false)")
        c.execute("UPDATE crfs_vitalsigns SET systolic = systolic + 1 WHERE id % 10 = 0")
    return {"vital signs": len(vitals), "adverse events": len(aes)}


def _baseline() -> float:
    """Read every exported table raw (COPY TO STDOUT), as the database alone would."""
    tables = {d.model._meta.db_table for d in catalogue() if d.model is not None}
    tables.add("audit_auditevent")
    t0 = time.perf_counter()
    with connection.cursor() as c:
        for table in sorted(tables):
            with c.copy(f"COPY (SELECT * FROM {table}) TO STDOUT") as copy:  # noqa: S608
                for _block in copy:
                    pass
    return time.perf_counter() - t0


# a fresh parent per export: its RUSAGE_CHILDREN peak is that export's alone
_WRAP = (
    "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, "
    "text=True); sys.stderr.write(r.stderr[-3000:]); r.check_returncode(); "
    "print(r.stdout.strip()); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
)


def _run(kind: str, username: str) -> tuple[float, float, int]:
    """(seconds, peak RSS MB, bytes) of one export in a child process."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(connection.settings_dict),
        "DJANGO_SETTINGS_MODULE": "alter_s006.settings_test",  # DEBUG off: no query log
        "DEBUG": "false",
    }
    command = [sys.executable, "manage.py", "run_export", "--user", username, "--kind", kind]
    t0 = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", _WRAP, *command], env=env, capture_output=True, text=True
    )
    if run.returncode:
        raise RuntimeError(f"{kind} failed:\n{run.stderr}")
    out = run.stdout.split("\n")
    seconds = time.perf_counter() - t0
    size = int(out[0].split("\t")[1])
    return seconds, int(out[1]) / 1024, size


class _Sink:
    def write(self, data):
        return len(data)


def _profile_copy() -> None:
    """Each dataset's COPY alone (in this process, to nowhere), and the audit SQL's plan."""
    from exports.csv_export import copy_into

    times = []
    for d in catalogue():
        if d.select(None) is None:
            continue
        t1 = time.perf_counter()
        n = copy_into(_Sink(), d, None)
        times.append((time.perf_counter() - t1, d.key, n))
    print("COPY:", ", ".join(f"{k} {t:.2f} s ({n})" for t, k, n in sorted(times, reverse=True)[:6]))
    sql, params = catalogue().get("audit_trail").select(None)
    with connection.cursor() as c:
        c.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        print("\n".join(r[0] for r in c.fetchall()))


def test_bench_exports():
    t0 = time.perf_counter()
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        study = generate(N, progress=False)
    added = _enrich(study)
    with connection.cursor() as c:
        c.execute("ANALYZE")
    print(f"\n{study.summary()}; {added}; built in {time.perf_counter() - t0:.0f} s")
    slow = []
    for d in catalogue():
        t1 = time.perf_counter()
        rows = sum(1 for _row in d.rows(None))
        slow.append((time.perf_counter() - t1, d.key, rows))
    print(
        "slowest datasets:",
        ", ".join(f"{k} {t:.1f} s ({n} rows)" for t, k, n in sorted(slow, reverse=True)[:6]),
    )
    if os.environ.get("BENCH_PROFILE"):
        _profile_copy()
    connection.close()  # the child processes read what this process committed
    base = _baseline()
    print(f"baseline (COPY of every exported table): {base:.1f} s, load {os.getloadavg()[0]:.2f}")
    print(f"{'export':<20}{'seconds':>9}{'x COPY':>8}{'peak RSS MB':>13}{'MB out':>8}")
    for kind in KINDS:
        seconds, rss, size = _run(kind, study.data_manager.username)
        print(f"{kind:<20}{seconds:>9.1f}{seconds / base:>8.1f}{rss:>13.0f}{size / 1e6:>8.1f}")
