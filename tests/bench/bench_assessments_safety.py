"""Benchmark, run by hand (not collected by the suite):

    .venv/bin/pytest tests/bench/bench_assessments_safety.py -s

Prints the SQL query count and the median render time of the tumour-assessment history, the
adverse event log and the lab panel page with few and with many records. Equal counts mean no
query per row.
"""

import datetime as dt

import pytest
from django.urls import reverse

from assessments import services as recist_services
from safety import services as safety_services
from safety.models import CtcaeTerm
from subjects import services as subject_services
from tests.bench.bench_subject_page import _measure
from tests.factories import add_reference_ranges, enrol, make_subject

TARGETS = [("T1", "liver", 40), ("T2", "lung", 30), ("T3", "lymph node", 30)]


def treated(site, by, initials, days_ago=700):
    today = site.today()
    c1d1 = today - dt.timedelta(days=days_ago)
    subject = make_subject(site, by, initials=initials, consent_date=c1d1 - dt.timedelta(10))
    subject = enrol(subject, by=by, on_date=c1d1 - dt.timedelta(days=2), c1d1=c1d1)
    return subject_services.change_status(
        subject=subject,
        target="on_treatment",
        on_date=c1d1,
        reason="",
        by=by,
        expected_version=subject.version,
    )


def with_timepoints(subject, by, n):
    recist_services.record_baseline(
        subject=subject,
        by=by,
        targets=[
            {
                "lesion_id": lid,
                "organ": organ,
                "method": "CT",
                "slice_thickness_mm": 5,
                "is_node": organ == "lymph node",
                "baseline_date": subject.c1d1_date - dt.timedelta(days=3),
                "diameter_mm": mm,
            }
            for lid, organ, mm in TARGETS
        ],
        non_targets=[],
    )
    for k in range(1, n + 1):
        recist_services.record_timepoint(
            subject=subject,
            by=by,
            scan_date=subject.c1d1_date + dt.timedelta(days=42 * k),
            measurements={lid: ("measured", mm - k) for lid, _organ, mm in TARGETS},
            non_target_status="",
            new_lesion="no",
        )


def with_safety(subject, by, n):
    term = CtcaeTerm.objects.get(term="Hypertension")
    for k in range(n):
        day = subject.c1d1_date + dt.timedelta(days=21 * k + 1)
        safety_services.record_ae(
            subject=subject,
            by=by,
            term=term,
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


@pytest.mark.django_db
def test_bench_assessments_and_safety(client, site_a, coordinator_a):
    if not CtcaeTerm.objects.exists():
        safety_services.load_ctcae()
    add_reference_ranges(site_a)
    client.force_login(coordinator_a)
    few, many = treated(site_a, coordinator_a, "FEW"), treated(site_a, coordinator_a, "MNY")
    with_timepoints(few, coordinator_a, 1)
    with_timepoints(many, coordinator_a, 15)
    with_safety(few, coordinator_a, 1)
    with_safety(many, coordinator_a, 20)
    rows = []
    for name, what in (
        ("assessments:overview", "timepoints"),
        ("safety:ae_list", "AEs"),
        ("safety:labs", "lab panels"),
    ):
        counts = []
        for subject, n in ((few, 1), (many, 15 if what == "timepoints" else 20)):
            q, ms = _measure(client, reverse(name, args=[subject.pk]))
            rows.append((f"{name}, {n} {what}", q, ms))
            counts.append(q)
        rows.append(("", counts[0] == counts[1], 0))
    print()
    for label, q, ms in rows:
        if label:
            print(f"{label:<36} {q:>3} queries  {ms:7.1f} ms median of 20")
