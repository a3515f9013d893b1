"""Data for the PDF tests, made through the real services (clock 2026-03-02 10:00 in Guangzhou,
C1D1 2026-01-05: tests/dosing/conftest.py), and PDF readers (pdftotext, pikepdf)."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from decimal import Decimal

from django.test import RequestFactory

from safety.models import CtcaeTerm
from safety.services import load_ctcae
from tests.factories import PASSWORD

D = dt.date
HOSTILE = "<script>alert(1)</script><img src=file:///etc/passwd>"
BASELINE = D(2026, 1, 2)


def text_of(pdf: bytes, *, raw: bool = False) -> str:
    """The PDF's text, whitespace folded (pdftotext, as a reader copies it): laid out as on
    the page, or ``raw`` in content order (a table cell that wraps stays in one piece)."""
    out = subprocess.run(
        ["pdftotext", "-raw" if raw else "-layout", "-", "-"],
        input=pdf,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return " ".join(out.split())


def pike(pdf: bytes):
    import pikepdf

    return pikepdf.open(io.BytesIO(pdf))


def ensure_ctcae():
    if not CtcaeTerm.objects.exists():
        load_ctcae()


def target(lesion_id, organ, mm, *, is_node=False):
    return {
        "lesion_id": lesion_id,
        "organ": organ,
        "location": f"{organ} lesion",
        "method": "CT",
        "slice_thickness_mm": 5,
        "is_node": is_node,
        "baseline_date": BASELINE,
        "diameter_mm": mm,
    }


def tumour(subject, by):
    """Baseline T1 liver 40 mm, T2 lung 30 mm (sum 70 mm); TA1 on 2026-02-16: 28 + 21 = 49 mm,
    (49 - 70) / 70 = -30 %: partial response."""
    from assessments import services

    services.record_baseline(
        subject=subject,
        by=by,
        targets=[target("T1", "liver", 40), target("T2", "lung", 30)],
        non_targets=[],
    )
    return services.record_timepoint(
        subject=subject,
        by=by,
        scan_date=D(2026, 2, 16),
        measurements={"T1": ("measured", 28), "T2": ("measured", 21)},
        non_target_status="non-CR/non-PD",
        new_lesion="no",
    )


def adverse_event(subject, by, investigator, *, verbatim=HOSTILE, term="Hypertension"):
    """Hypertension grade 2 from 2026-02-20, grade 3 from 2026-02-25 (a correction with its
    reason), causality e-signed by the investigator."""
    from safety import services

    ensure_ctcae()
    ae = services.record_ae(
        subject=subject,
        by=by,
        term=CtcaeTerm.objects.get(term=term),
        grade=2,
        onset_date=D(2026, 2, 20),
        outcome="not_recovered",
        ongoing=True,
        verbatim=verbatim,
    )
    ae = services.update_ae(
        ae=ae,
        by=by,
        expected_version=ae.version,
        reason="Worse at the next visit",
        changes={"grade": 3},
        grade_from=D(2026, 2, 25),
    )
    return services.sign_causality(
        ae=ae,
        by=investigator,
        relationship="probable",
        password=PASSWORD,
        request=RequestFactory().post("/"),
        expected_version=ae.version,
    )


def vital_signs(subject, by):
    """C1D1 vital signs 150/95 mm Hg (CTCAE hypertension grade 2), 36.8 °C, 72.0 kg."""
    from crfs import services

    return services.save_crf(
        visit=subject.visits.get(code="C1D1"),
        form_key="vital_signs",
        by=by,
        values={
            "assessed_on": D(2026, 1, 5),
            "systolic": 150,
            "diastolic": 95,
            "heart_rate": 76,
            "temperature": Decimal("36.8"),
            "weight": Decimal("72.0"),
            "height": None,
            "not_done_reason": "",
        },
    )


def lab_panel(subject, by):
    """ANC 0.8 x10^9/L on C3D1 (2026-02-16): CTCAE grade 3 neutrophil count decreased."""
    from safety import services

    return services.record_lab_panel(
        subject=subject,
        by=by,
        sample_date=D(2026, 2, 16),
        values={"anc": ("0.8", "10^9/L")},
        visit=subject.visits.get(code="C3D1"),
    )
