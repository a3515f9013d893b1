"""Benchmark, run by hand (not collected by the suite):
    TEST_DATABASE_NAME=bench_casebook .venv/bin/pytest tests/bench/bench_casebook.py \
        -s -p no:cacheprovider                                   (BENCH_ROUNDS=3)

Issue 15: "Casebook PDF for one subject with 24 months of data (35 cycles, 12 assessments,
40 AEs, 200 audit rows): goal <= 3 s."

The subject: registered, screened, signed and enrolled through the services with C1D1 24
months ago (the schedule plans its cycles and tumour assessments), its past visits marked done
(set-based, audited), then vital signs at every visit held, 12 timepoints, 40 AEs with a grade
each (bulk, the audit triggers firing) and one correction in ten of the vital signs. Measured:
the casebook as the page makes it (``subject_casebook``: the subject's ODM snapshot, then the
PDF/A-3b), median of BENCH_ROUNDS, pages and MB; its parts (the ODM, the HTML, the PDF) once;
baseline in the same run: a one-form PDF (the subject's demographics) through the same
``render_pdf``.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import random
import statistics
import time

import pytest
from django.db import connection
from django.test import override_settings
from pypdf import PdfReader

from assessments.models import Timepoint
from audit.models import AuditEvent
from crfs.models import VitalSigns
from exports.casebook import casebook_context, subject_casebook
from exports.metadata import catalogue
from exports.pdf import render_html, render_pdf
from exports.pdf_views import crf_form, subject_context
from safety.models import AdverseEvent, CtcaeTerm, GradeChange
from subjects.models import Subject, Visit
from tests.bench.generate import FAST_HASHERS, close_past_visits, generate
from tests.safety.conftest import ensure_ctcae

pytestmark = pytest.mark.django_db(transaction=True)
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def _subject_with_24_months() -> tuple[Subject, object]:
    ensure_ctcae()
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        study = generate(1, n_sites=1, enrolled_share=1.0, progress=False)
    subject = Subject.objects.select_related("site").get()
    today = subject.site.today()
    c1d1 = today - dt.timedelta(days=730)
    # move the subject's whole history back to a C1D1 24 months ago (as the site would have
    # entered it then): shift its dates, then let the schedule's own visits stand
    shift = c1d1 - subject.c1d1_date
    with connection.cursor() as c:
        c.execute(
            "UPDATE subjects_visit SET target_date = target_date + %s, earliest = earliest + %s,"
            " latest = latest + %s, actual_date = NULL WHERE subject_id = %s",
            [shift.days] * 3 + [subject.pk],
        )
        c.execute(
            "UPDATE subjects_subject SET c1d1_date = %s, consent_date = consent_date + %s "
            "WHERE id = %s",
            [c1d1, shift.days, subject.pk],
        )
    close_past_visits(study.sites, random.Random(3), 0.0)
    return Subject.objects.select_related("site").get(), study


def _data(subject, user, rng) -> dict:
    held = Visit.objects.filter(subject=subject, actual_date__isnull=False).order_by("target_date")
    VitalSigns.objects.bulk_create(
        VitalSigns(
            subject=subject,
            visit=v,
            assessed_on=v.actual_date,
            recorded_by=user,
            systolic=rng.randint(100, 150),
            diastolic=rng.randint(60, 95),
            heart_rate=rng.randint(55, 100),
            temperature=36.6,
            weight=70,
        )
        for v in held
        if v.kind != "screening"
    )
    tas = list(held.filter(kind="tumour_assessment")[:12])
    Timepoint.objects.bulk_create(
        Timepoint(
            subject=subject,
            visit=v,
            scan_date=v.actual_date,
            non_target_status="non-CR/non-PD",
            new_lesion="no",
            sum_mm=60 - i,
            overall_response="SD",
            target_response="SD",
            non_target_response="non-CR/non-PD",
        )
        for i, v in enumerate(tas)
    )
    terms = list(CtcaeTerm.objects.values_list("pk", flat=True)[:40])
    aes = AdverseEvent.objects.bulk_create(
        AdverseEvent(
            subject=subject,
            term_id=t,
            grade=1 + i % 3,
            onset_date=subject.c1d1_date + dt.timedelta(days=15 * i + 3),
            ongoing=False,
            end_date=subject.c1d1_date + dt.timedelta(days=15 * i + 10),
            relationship="possible",
            outcome="recovered",
            recorded_by=user,
        )
        for i, t in enumerate(terms)
    )
    GradeChange.objects.bulk_create(
        GradeChange(ae=ae, grade=ae.grade, from_date=ae.onset_date, recorded_by=user) for ae in aes
    )
    with connection.cursor() as c:
        c.execute("SELECT set_config('alter.reason', 'transcription error', false)")
        c.execute(
            "UPDATE crfs_vitalsigns SET systolic = systolic + 1 WHERE subject_id = %s AND "
            "id %% 10 = 0",
            [subject.pk],
        )
    cycles = Visit.objects.filter(subject=subject, kind="cycle", actual_date__isnull=False)
    return {
        "cycles held": cycles.count(),
        "timepoints": len(tas),
        "AEs": len(aes),
        "audit rows": AuditEvent.objects.filter(chain_key=subject.pk).count(),
    }


def _median(make) -> tuple[float, bytes]:
    times, out = [], b""
    for _round in range(ROUNDS):
        t0 = time.perf_counter()
        out = make()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def test_bench_casebook():
    subject, study = _subject_with_24_months()
    rng = random.Random(7)
    counts = _data(subject, study.data_manager, rng)
    print(f"\nsubject {subject}: {counts}, load {os.getloadavg()[0]:.2f}")
    ds = catalogue().get("subjects")
    _s, form = crf_form(ds, subject.pk, study.data_manager)
    context = {**subject_context(subject), "form": form}
    base, _pdf = _median(lambda: render_pdf("exports/pdf/crf.html", context, title="bench"))
    seconds, pdf = _median(lambda: subject_casebook(subject, user=study.data_manager))
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    t0 = time.perf_counter()
    from exports.odm import subject_odm_bytes

    subject_odm_bytes(subject.pk)
    t_odm = time.perf_counter() - t0
    t0 = time.perf_counter()
    context = casebook_context(subject, user=study.data_manager)
    html = render_html("exports/pdf/casebook.html", context)
    t_html = time.perf_counter() - t0
    if os.environ.get("BENCH_DUMP"):  # the HTML, to profile WeasyPrint on its own
        with open(os.environ["BENCH_DUMP"], "w") as f:
            f.write(html)
    print(f"one-form PDF (baseline): {base:.2f} s")
    print(
        f"casebook: {seconds:.2f} s (x{seconds / base:.1f} the one-form PDF), {pages} pages, "
        f"{len(pdf) / 1e6:.1f} MB; of which ODM {t_odm:.2f} s, HTML {t_html:.2f} s "
        f"({len(html) / 1e6:.1f} MB), the rest WeasyPrint"
    )
