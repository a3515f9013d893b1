"""The demo study is built through the real services and can be run twice."""

from io import StringIO

import pytest
from django.core.management import call_command

from assessments.services import best_response
from subjects.models import Subject


@pytest.mark.django_db
def test_seed_demo_builds_the_study_once():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "12 subjects (12 new)" in out.getvalue()
    call_command("seed_demo", stdout=out)
    assert "12 subjects (0 new)" in out.getvalue()

    # YLP stopped for progressive disease: the last scan is PD, after a confirmed PR
    # (sums 110 mm at baseline, 74.8 = -32 %, 72.5 mm 42 days later: confirmed).
    progressed = Subject.objects.get(initials="YLP")
    last = progressed.timepoints.order_by("scan_date").last()
    assert last.overall_response == "PD"
    bor = best_response(progressed)
    assert bor.response == "PR" and bor.first_pd_date == last.scan_date
    # safety: a signed grade 2 hypertension per treated subject; the subject who stopped for
    # grade 3 hypertension has it serious, its initial report overdue
    from safety.models import AdverseEvent

    stopped = AdverseEvent.objects.get(subject__initials="SUN")
    assert stopped.grade == 3 and stopped.serious and stopped.causality_signed
    assert stopped.sae_reports.get().overdue
    on_treatment = Subject.objects.filter(status="on_treatment")
    assert all(s.lesions.count() == 4 for s in on_treatment)
