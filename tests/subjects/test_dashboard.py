"""The investigator's dashboard card "Awaiting your signature" (issue 11 C16): eligible
verdicts not signed, causality not signed, SAE reports not submitted; counted at the
investigator's own sites, in as many queries for 30 items as for 1."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from eligibility import services as eligibility
from safety.models import CtcaeTerm
from safety.services import load_ctcae, record_ae
from subjects import selectors, services
from tests.factories import (
    add_reference_ranges,
    eligible_screening_data,
    enrol,
    make_subject,
    member,
    sign_eligible,
)

pytestmark = pytest.mark.django_db


def screened(site, by, n=1, **overrides):
    """``n`` subjects in screening whose entered data is eligible, none signed."""
    add_reference_ranges(site)
    found = []
    for i in range(n):
        subject = make_subject(site, by, initials="A" + chr(65 + i % 26) + chr(65 + i // 26))
        eligibility.save_screening(
            subject=subject,
            changes=eligible_screening_data(subject, **overrides),
            expected_version=None,
            by=by,
        )
        found.append(subject)
    return found


def on_treatment(site, by):
    subject = enrol(make_subject(site, by, initials="OTX"), by=by)
    c1d1 = subject.c1d1_date
    return services.change_status(
        subject=subject,
        target="on_treatment",
        on_date=min(c1d1, site.today()),
        reason="",
        by=by,
        expected_version=subject.version,
    )


def adverse_events(subject, by, n=1, serious=False):
    if not CtcaeTerm.objects.exists():
        load_ctcae()
    term = CtcaeTerm.objects.get(term="Hypertension")
    return [
        record_ae(
            subject=subject,
            by=by,
            term=term,
            grade=2,
            onset_date=subject.site.today(),
            outcome="not_recovered",
            ongoing=True,
            serious=serious,
            sae_hospitalisation=serious,
        )
        for _ in range(n)
    ]


def dashboard(client, user):
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response


def test_the_card_lists_what_awaits_the_investigator(client, coordinator_a, investigator_a, site_a):
    (waiting,) = screened(site_a, coordinator_a)
    subject = on_treatment(site_a, coordinator_a)
    (ae,) = adverse_events(subject, coordinator_a, serious=True)
    response = dashboard(client, investigator_a)
    awaiting = response.context["awaiting"]
    assert [s.pk for s, _resign in awaiting.eligibility] == [waiting.pk]
    assert [a.pk for a in awaiting.causality] == [ae.pk]
    assert (awaiting.eligibility_count, awaiting.causality_count, awaiting.sae_pending) == (1, 1, 1)
    body = response.content.decode()
    assert "Awaiting your signature" in body
    assert reverse("eligibility:screening", args=[waiting.pk]) in body
    assert reverse("safety:ae", args=[subject.pk, ae.pk]) in body


def test_a_signed_or_ineligible_subject_is_not_listed(
    client, coordinator_a, investigator_a, site_a
):
    signed = make_subject(site_a, coordinator_a, initials="SGN")
    sign_eligible(signed, by=coordinator_a)
    screened(site_a, coordinator_a, ecog=3)  # ECOG 3: not eligible
    awaiting = dashboard(client, investigator_a).context["awaiting"]
    assert awaiting.eligibility == []


def test_a_voided_signature_is_listed_to_sign_again(client, coordinator_a, investigator_a, site_a):
    subject = make_subject(site_a, coordinator_a, initials="VOD")
    sign_eligible(subject, by=coordinator_a)
    subject.refresh_from_db()
    services.correct_subject(
        subject=subject,
        expected_version=subject.version,
        changes={"consent_date": subject.consent_date - dt.timedelta(days=1)},
        by=coordinator_a,
        reason="Consent signed the day before",
    )
    awaiting = dashboard(client, investigator_a).context["awaiting"]
    assert [(s.pk, resign) for s, resign in awaiting.eligibility] == [(subject.pk, True)]
    assert "sign again" in dashboard(client, investigator_a).content.decode()


def test_an_investigator_of_another_site_sees_none_of_it(
    client, coordinator_a, investigator_a, site_a, site_b
):
    screened(site_a, coordinator_a)
    adverse_events(on_treatment(site_a, coordinator_a), coordinator_a, serious=True)
    investigator_b = member("inv_b", Role.INVESTIGATOR, site_b)
    awaiting = dashboard(client, investigator_b).context["awaiting"]
    assert (awaiting.total, awaiting.eligibility, awaiting.causality) == (0, [], [])
    assert dashboard(client, investigator_a).context["awaiting"].total == 3


def test_a_coordinator_has_no_card(client, coordinator_a, site_a):
    screened(site_a, coordinator_a)
    response = dashboard(client, coordinator_a)
    assert response.context["awaiting"] is None
    assert "Awaiting your signature" not in response.content.decode()


def _queries(client, user) -> int:
    client.force_login(user)
    client.get(reverse("home"))
    with CaptureQueriesContext(connection) as captured:
        client.get(reverse("home"))
    return len(captured)


def test_as_many_queries_for_30_items_as_for_1(client, coordinator_a, investigator_a, site_a):
    screened(site_a, coordinator_a)
    subject = on_treatment(site_a, coordinator_a)
    adverse_events(subject, coordinator_a, serious=True)
    one = _queries(client, investigator_a)
    screened(site_a, coordinator_a, n=29)
    adverse_events(subject, coordinator_a, n=29, serious=True)
    awaiting = dashboard(client, investigator_a).context["awaiting"]
    assert (awaiting.eligibility_count, awaiting.causality_count, awaiting.sae_pending) == (
        30,
        30,
        30,
    )
    assert len(awaiting.eligibility) == len(awaiting.causality) == selectors.AWAITING_SHOWN
    assert _queries(client, investigator_a) == one
