"""Unscheduled visits (issue 13 section 1): numbered U1, U2, held on their date, never dropped
by re-planning, never missed; the schedule of assessments asks only for the AE review and
offers the other CRFs as optional."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from crfs import services as crfs
from crfs.soa import Need, VisitState, expected_forms
from subjects import services
from subjects.models import Visit
from tests.factories import make_subject

D = dt.date


def codes(exc) -> dict:
    return {f: [e.code for e in errs] for f, errs in exc.value.error_dict.items()}


def test_numbered_held_and_kept_when_the_schedule_is_re_planned(treated, coordinator_a):
    first = services.add_unscheduled_visit(
        subject=treated, by=coordinator_a, on_date=D(2026, 2, 3), note="Epistaxis"
    )
    second = services.add_unscheduled_visit(
        subject=treated, by=coordinator_a, on_date=D(2026, 3, 2), note="BP check"
    )
    assert (first.code, second.code) == ("U1", "U2")
    assert (first.actual_date, first.earliest, first.latest) == (D(2026, 2, 3),) * 3
    assert first.days_outside_window() == 0
    services.sync_schedule(treated)
    assert Visit.objects.filter(subject=treated, kind="unscheduled").count() == 2
    with pytest.raises(ValidationError) as exc:
        services.record_visit(
            visit=first,
            expected_version=first.version,
            actual_date=None,
            missed=True,
            note="",
            by=coordinator_a,
            reason="Not held",
        )
    assert codes(exc) == {"missed": ["unscheduled_is_held"]}


def test_refusals(treated, coordinator_a, coordinator_b, monitor_a, site_a):
    cases = [
        ({"on_date": D(2026, 3, 3), "note": "x"}, {"on_date": ["future_date"]}),  # today 03-02
        ({"on_date": D(2025, 12, 19), "note": "x"}, {"on_date": ["before_consent"]}),
        ({"on_date": D(2026, 3, 2), "note": "  "}, {"note": ["required"]}),
    ]
    for kwargs, expected in cases:
        with pytest.raises(ValidationError) as exc:
            services.add_unscheduled_visit(subject=treated, by=coordinator_a, **kwargs)
        assert codes(exc) == expected
    screening = make_subject(site_a, coordinator_a)
    with pytest.raises(ValidationError) as exc:
        services.add_unscheduled_visit(
            subject=screening, by=coordinator_a, on_date=D(2026, 3, 2), note="x"
        )
    assert codes(exc) == {"on_date": ["not_enrolled"]}
    for user in (coordinator_b, monitor_a):
        with pytest.raises(PermissionDenied):
            services.add_unscheduled_visit(
                subject=treated, by=user, on_date=D(2026, 3, 2), note="x"
            )
    assert not Visit.objects.filter(kind="unscheduled").exists()


def test_only_the_ae_review_is_required(treated, coordinator_a):
    keys = dict(expected_forms("unscheduled"))
    assert keys.pop("ae_review") is Need.REQUIRED
    assert set(keys.values()) == {Need.OPTIONAL}
    assert {"vital_signs", "lab_panel", "ecg"} <= set(keys)
    visit = services.add_unscheduled_visit(
        subject=treated, by=coordinator_a, on_date=D(2026, 3, 1), note="Hand-foot reaction"
    )
    visit.subject = treated
    assert crfs.visit_forms(visit)[1].state is VisitState.NOT_STARTED
    crfs.save_crf(
        visit=visit,
        form_key="ae_review",
        by=coordinator_a,
        values={"assessed_on": D(2026, 3, 1), "answer": "updated", "comment": ""},
    )
    assert crfs.visit_forms(visit)[1].state is VisitState.COMPLETE


def test_the_page_records_it_and_opens_its_crfs(client, treated, coordinator_a):
    client.force_login(coordinator_a)
    url = reverse("subjects:unscheduled", args=[treated.pk])
    refused = client.post(url, {"on_date": "2026-03-02", "note": ""})
    assert refused.status_code == 422
    answer = client.post(url, {"on_date": "2026-03-02", "note": "Grade 2 diarrhoea review"})
    visit = Visit.objects.get(subject=treated, kind="unscheduled")
    assert answer.status_code == 302
    assert answer.url == reverse("crfs:visit", args=[treated.pk, visit.pk])
    page = client.get(answer.url).content.decode()
    assert 'data-form="ae_review"' in page and 'data-form="vital_signs"' in page
