"""Benchmark, run by hand (not collected by the suite):

    TEST_DATABASE_NAME=bench_odm .venv/bin/pytest tests/bench/bench_odm.py -s -p no:cacheprovider
        (BENCH_SUBJECTS=500)

Issue 15 "Measure and report": the transactional ODM of the whole study, time and peak RSS.

The study is synthetic and built fast with ``bulk_create`` (not through the services: a
shortcut of the bench only): 10 sites, BENCH_SUBJECTS subjects, each with a screening visit and
ten cycle visits, vital signs and ECOG at each (one vital signs in three then corrected by a
set-based UPDATE with a reason), two adverse events with their grade history. Every row goes
through the audit triggers, so each subject's audit chain holds its inserts and corrections
(~50 audit rows a subject). ``write_odm(file_type="Transactional")`` then writes the whole study
to a temporary file, outside any transaction (its own REPEATABLE READ snapshot), while a thread
samples the process's resident set every 20 ms.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
import time
from decimal import Decimal

import pytest
from django.db import connection

from accounts.models import Role
from audit.context import audit_context
from crfs.models import Ecog, VitalSigns
from exports.odm import write_odm
from safety.models import AdverseEvent, CtcaeTerm, GradeChange
from safety.services import load_ctcae
from subjects.models import Subject, Visit
from tests.factories import SiteFactory, member

pytestmark = pytest.mark.django_db(transaction=True)

N = int(os.environ.get("BENCH_SUBJECTS", "500"))
SITES = 10
CYCLES = 10
CHUNK = 250
D0 = dt.date(2025, 1, 6)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


class Sampler(threading.Thread):
    """The process's peak resident set while it runs (every 20 ms)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak, self.running = _rss_mb(), True

    def run(self):
        while self.running:
            self.peak = max(self.peak, _rss_mb())
            time.sleep(0.02)


def _subjects(chunk, sites, coordinators):
    rows = []
    for i in chunk:
        site = sites[i % SITES]
        rows.append(
            Subject(
                site=site,
                screening_number=f"{site.code}-S{i:05d}",
                subject_number=f"{site.code}-{i:05d}",
                sex="F" if i % 2 else "M",
                year_of_birth=1960 + i % 40,
                initials="ABC",
                consent_date=D0,
                consent_version="2.1",
                status="on_treatment",
                status_date=D0,
                c1d1_date=D0 + dt.timedelta(days=7),
                created_by=coordinators[site.pk],
            )
        )
    return Subject.objects.bulk_create(rows)


def _visits(subjects):
    rows = []
    for s in subjects:
        rows.append(Visit(subject=s, kind="screening", code="SCR", target_date=D0, earliest=D0,
                          latest=D0, actual_date=D0))  # fmt: skip
        for c in range(1, CYCLES + 1):
            day = D0 + dt.timedelta(days=7 + 21 * (c - 1))
            rows.append(Visit(subject=s, kind="cycle", number=c, code=f"C{c}D1", target_date=day,
                              earliest=day, latest=day, actual_date=day))  # fmt: skip
    return Visit.objects.bulk_create(rows)


def _crfs(visits, by_site):
    vitals, ecogs = [], []
    for n, v in enumerate(visits):
        who = by_site[v.subject.site_id]
        vitals.append(VitalSigns(subject=v.subject, visit=v, assessed_on=v.target_date,
                                 recorded_by=who, systolic=120 + n % 30, diastolic=80,
                                 heart_rate=70, temperature=Decimal("36.6"),
                                 weight=Decimal("70.5")))  # fmt: skip
        ecogs.append(Ecog(subject=v.subject, visit=v, assessed_on=v.target_date, recorded_by=who,
                          score=n % 3))  # fmt: skip
    VitalSigns.objects.bulk_create(vitals)
    Ecog.objects.bulk_create(ecogs)
    return vitals


def _aes(subjects, by_site, terms):
    aes = []
    for n, s in enumerate(subjects):
        for k in range(2):
            aes.append(AdverseEvent(subject=s, term=terms[(n + k) % len(terms)], grade=2,
                                    onset_date=D0 + dt.timedelta(days=30 + k), ongoing=True,
                                    outcome="not_recovered", recorded_by=by_site[s.site_id],
                                    treatment_given="<script>alert(1)</script>"))  # fmt: skip
    AdverseEvent.objects.bulk_create(aes)
    GradeChange.objects.bulk_create(
        GradeChange(ae=ae, grade=ae.grade, from_date=ae.onset_date, recorded_by=ae.recorded_by)
        for ae in aes
    )


def build(n: int) -> None:
    if not CtcaeTerm.objects.exists():
        load_ctcae()
    terms = list(CtcaeTerm.objects.filter(grade_2__gt="").order_by("pk")[:20])
    sites = [SiteFactory(code=f"B{i:02d}") for i in range(SITES)]
    by_site = {s.pk: member(f"coord_b{i:02d}", Role.COORDINATOR, s) for i, s in enumerate(sites)}
    for start in range(0, n, CHUNK):
        with audit_context(user=by_site[sites[0].pk], reason="bench build"):
            subjects = _subjects(range(start, min(n, start + CHUNK)), sites, by_site)
            visits = _visits(subjects)
            vitals = _crfs(visits, by_site)
            _aes(subjects, by_site, terms)
        with audit_context(user=by_site[sites[0].pk], reason="transcription error"):
            ids = [v.pk for v in vitals[::3]]
            VitalSigns.objects.filter(pk__in=ids).update(systolic=133, version=2)


def test_bench_odm_transactional():
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
    t0 = time.perf_counter()
    build(N)
    built = time.perf_counter() - t0
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM audit_auditevent")
        audit_rows = cursor.fetchone()[0]
    print(f"\nbuilt {N} subjects, {audit_rows} audit rows in {built:.1f} s; "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    for file_type in ("Transactional", "Snapshot"):
        sampler = Sampler()
        before = _rss_mb()
        sampler.start()
        ticks: list[int] = []
        with tempfile.TemporaryFile() as out:
            t = time.perf_counter()
            write_odm(out, file_type=file_type, progress=lambda d, _total, t=ticks: t.append(d))
            seconds = time.perf_counter() - t
            size = out.tell()
        sampler.running = False
        sampler.join()
        assert ticks[-1] == N
        print(
            f"{file_type}: {N} subjects in {seconds:.1f} s ({N / seconds:.0f} subjects/s), "
            f"{size / 2**20:.1f} MB; RSS before {before:.0f} MB, peak {sampler.peak:.0f} MB "
            f"(+{sampler.peak - before:.0f} MB); load average {os.getloadavg()[0]:.2f}"
        )
