"""Tests of the screening pages through the Django test client, on real PostgreSQL.

The clock is frozen at 2026-03-02 10:00 in Guangzhou, as in test_services.py, whose cast and
numbers these tests reuse: ``subject_a`` consented on 2026-02-27; the eligible screening plans
C1D1 on 2026-03-07, has its laboratory on 2026-02-28 with ALT 22 U/L against the site's ULN of
40 U/L, and a negative pregnancy test on 2026-03-02.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from axes.models import AccessAttempt
from django.urls import reverse

from audit.models import AuditEvent
from eligibility.models import EligibilitySignature, ReferenceRange, Screening
from subjects.models import StatusChange, Subject, Visit
from tests.eligibility.test_services import (
    COUNTS_A,
    COUNTS_B,
    FAILURE,
    NOT_ELIGIBLE,
    NOW,
    PLANNED_C1D1,
    SIG_TABLE,
    WRONG,
    D,
    S,
    add_alt_range,
    enter,
    screened_cast,
    shown_hash,
)
from tests.factories import PASSWORD, add_reference_ranges, eligible_screening_data, sign_eligible

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def investigator_b(site_b):
    from accounts.models import Role
    from tests.factories import member

    return member("inv_b", Role.INVESTIGATOR, site_b)


def login(client, user):
    client.force_login(user)
    return client


def page(response) -> str:
    return unescape(response.content.decode())


def field_errors(response, field: str) -> list[str]:
    """The error messages rendered beside the form field ``field`` (crispy's error ids)."""
    html = response.content.decode()
    pattern = rf'id="error_\d+_id_{field}"><strong>(.*?)</strong>'
    return [unescape(message) for message in re.findall(pattern, html, re.S)]


JUDGEMENT = ["I04", "E11", "E16"]  # answered in the subject's favour by eligible_screening_data


def field_codes(response, field: str, form: str = "form") -> list[str]:
    """The codes of the errors the page's form shows beside ``field`` (``__all__``: on top)."""
    return [e.code for e in response.context[form].errors.as_data().get(field, [])]


def form_value(value) -> str:
    """What a browser sends for ``value`` (radios say "True"/"False", blanks are empty)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def screening_post(subject, version=None, reason="", **overrides) -> dict:
    data = eligible_screening_data(subject, **overrides)
    post = {name: form_value(value) for name, value in data.items()}
    post["version"] = "" if version is None else str(version)
    post["reason"] = reason
    return post


def correction_post(subject, reason, **changes) -> dict:
    """The screening form as opened now (pre-filled with the stored data), with ``changes``."""
    from eligibility.services import DATA_FIELDS

    screening = Screening.objects.get(subject=subject)
    post = {name: form_value(getattr(screening, name)) for name in DATA_FIELDS}
    post.update({name: form_value(value) for name, value in changes.items()})
    post.update(version=str(screening.version), reason=reason)
    return post


def stored() -> tuple:
    """Everything a refused save must leave alone."""
    return (
        list(Screening.objects.values()),
        Screening.objects.count(),
        AuditEvent.objects.count(),
    )


def screening_url(subject):
    return reverse("eligibility:screening", args=[subject.pk])


def sign_url(subject):
    return reverse("eligibility:sign", args=[subject.pk])


HASH_INPUT = r'name="data_hash" value="(\w{64})"'


def sign_form(client, subject, password=PASSWORD, attest=True) -> dict:
    """What the signing page posts: the password typed, the data hash it shows (or, when it
    shows no form, the hash of the stored data) and, with ``attest``, every judgement
    criterion it offers for the investigator's attestation ticked."""
    html = page(client.get(sign_url(subject)))
    shown = re.search(HASH_INPUT, html)
    form = {"password": password, "data_hash": shown[1] if shown else shown_hash(subject)}
    if attest:
        form["attested_criteria"] = re.findall(r'name="attested_criteria" value="(\w+)"', html)
    return form


def checklist(html: str) -> list[tuple[str, str]]:
    """(code, status) of the verdict's checklist, in the order shown."""
    return re.findall(r'data-code="(\w+)" data-status="(\w+)"', html)


def reason_of(html: str, code: str) -> str:
    match = re.search(rf'data-code="{code}".*?<div class="crit-reason">(.*?)</div>', html, re.S)
    return unescape(match.group(1)).strip()


def transition(client, subject, c1d1="", on_date="2026-03-02", target="enrolled"):
    subject.refresh_from_db()
    return client.post(
        reverse("subjects:transition", args=[subject.pk]),
        {
            "version": subject.version,
            "target": target,
            "on_date": on_date,
            "c1d1": c1d1,
            "last_dose": "",
            "reason": "",
        },
    )


def enrol_form(html: str) -> tuple[str, dict]:
    """The action and hidden fields of the Enrol button's form on the screening page."""
    form = re.search(
        r'<form method="post" action="([^"]+)"[^>]*>((?:(?!<form).)*?id="enrol-button".*?)</form>',
        html,
        re.S,
    )
    assert form, "no Enrol button"
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(2)))
    fields.pop("csrfmiddlewaretoken")
    return form.group(1), fields


# --- who may sign: 403 for the site's other roles, 404 for other sites ----------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("coordinator_a", 403),
        ("monitor_a", 403),
        ("data_manager", 403),  # sees every site, signs at none
        ("coordinator_b", 404),
        ("investigator_b", 404),  # an investigator, but of SH02
    ],
)
def test_only_an_investigator_of_the_site_may_open_or_post_the_signature_page(
    who, status, request, client, subject_a, coordinator_a, cast
):
    enter(subject_a, coordinator_a)
    login(client, request.getfixturevalue(who))

    assert client.get(sign_url(subject_a)).status_code == status
    assert client.post(sign_url(subject_a), sign_form(client, subject_a)).status_code == status

    assert not EligibilitySignature.objects.exists()


def test_the_signature_page_shows_the_meaning_and_the_printed_name(
    client, subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a)
    login(client, investigator_a)

    html = page(client.get(sign_url(subject_a)))

    assert (
        '<blockquote class="fs-5 border-start border-4 ps-3" id="signature-meaning">'
        "“I confirm this subject meets all eligibility criteria”</blockquote>"
    ) in html
    assert "Signed as Test Inv_A." in html
    assert 'type="password"' in html


def test_the_meaning_is_shown_as_recorded_and_in_the_readers_language(
    client, subject_a, coordinator_a, investigator_a
):
    """The meaning is recorded (and hashed) in English; a Chinese reader sees it translated
    beside the recorded words."""
    enter(subject_a, coordinator_a)
    login(client, investigator_a)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})

    html = page(client.get(sign_url(subject_a)))

    meaning = re.search(r'id="signature-meaning">(.*?)</blockquote>', html, re.S).group(1)
    assert "“I confirm this subject meets all eligibility criteria”" in meaning
    assert "本人确认该受试者符合全部入选资格标准" in meaning


def test_the_investigator_signs_through_the_page_and_the_signature_is_shown(
    client, subject_a, coordinator_a, investigator_a
):
    screening = enter(subject_a, coordinator_a)
    login(client, investigator_a)

    response = client.post(sign_url(subject_a), sign_form(client, subject_a))

    assert response.status_code == 302
    assert response["Location"] == screening_url(subject_a)
    signature = EligibilitySignature.objects.get()
    from eligibility import services

    assert signature.data_hash == services.data_hash(subject_a, screening)
    html = page(client.get(response["Location"]))
    assert "Eligibility signed." in html
    shown = re.search(r'id="signature-valid">(.*?)</div>', html, re.S).group(1)
    assert "<strong>Test Inv_A</strong> — “I confirm this subject meets all eligibility" in shown
    # Guangzhou is UTC+8 all year (China Standard Time, no daylight saving).
    utc = signature.signed_at.astimezone(dt.UTC)
    local = utc + dt.timedelta(hours=8)
    assert f"{local:%Y-%m-%d %H:%M} CST · {utc:%Y-%m-%d %H:%M} UTC" in shown
    assert 'id="sign-link"' not in html  # nothing left to sign


def test_a_wrong_password_on_the_page_signs_nothing_and_says_so_by_the_field(
    client, subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a)
    login(client, investigator_a)

    response = client.post(sign_url(subject_a), sign_form(client, subject_a, WRONG))

    assert response.status_code == 422
    assert field_codes(response, "password") == ["wrong_password"]
    assert not EligibilitySignature.objects.exists()
    assert AccessAttempt.objects.get(username="inv_a").failures_since_start == 1


def test_five_wrong_signature_passwords_lock_the_account(
    client, subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a)
    login(client, investigator_a)
    for attempt in range(1, 5):
        response = client.post(sign_url(subject_a), sign_form(client, subject_a, WRONG))
        assert response.status_code == 422, attempt
        assert field_codes(response, "password") == ["wrong_password"]

    fifth = sign_form(client, subject_a, WRONG)
    response = client.post(sign_url(subject_a), fifth)  # 5th: the limit

    assert response.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in response.templates]
    assert AccessAttempt.objects.get(username="inv_a").failures_since_start == 5
    assert "_auth_user_id" not in client.session  # a locked account keeps no session
    # 6th attempt with the RIGHT password: the signing page now asks to sign in, and signing
    # in with the right password is refused by the lockout. Nothing was signed.
    response = client.post(sign_url(subject_a), sign_form(client, subject_a))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    signing_in = client.post(reverse("login"), {"username": "inv_a", "password": PASSWORD})
    assert signing_in.status_code == 429
    assert "_auth_user_id" not in client.session
    assert not EligibilitySignature.objects.exists()


def test_data_changed_while_the_investigator_read_the_page_is_not_signed(
    client, subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a)
    login(client, investigator_a)
    read = re.search(r'name="data_hash" value="(\w{64})"', page(client.get(sign_url(subject_a))))
    from eligibility import services

    services.save_screening(  # meanwhile the coordinator corrects ALT 22 -> 30 U/L
        subject=subject_a,
        changes={"alt_value": Decimal("30")},
        expected_version=1,
        by=coordinator_a,
        reason="Lab report re-read",
    )

    response = client.post(
        sign_url(subject_a),
        {"password": PASSWORD, "data_hash": read[1], "attested_criteria": JUDGEMENT},
    )

    assert response.status_code == 422
    assert (
        "The screening data changed while you were reading it. Nothing was signed: review the "
        "verdict again, then sign."
    ) in page(response)
    assert not EligibilitySignature.objects.exists()
    fresh = re.search(r'name="data_hash" value="(\w{64})"', page(response))[1]
    assert fresh != read[1]
    assert "ALT 30 U/L = 0.75 × ULN 40 U/L" in reason_of(page(response), "I08")  # 30 / 40
    signed = client.post(
        sign_url(subject_a),
        {"password": PASSWORD, "data_hash": fresh, "attested_criteria": JUDGEMENT},
    )
    assert signed.status_code == 302
    assert EligibilitySignature.objects.get().data_hash == fresh


def form_error_codes(response) -> list[str]:
    """The codes of the errors the signing form shows above its fields."""
    return [e.code for e in response.context["form"].non_field_errors().as_data()]


def test_a_signature_posted_without_the_hash_of_the_page_signs_nothing(
    client, subject_a, coordinator_a, investigator_a
):
    """Issue 10.4: the hash of what was shown is required (an empty one was accepted)."""
    enter(subject_a, coordinator_a)
    login(client, investigator_a)

    for posted in ({"password": PASSWORD}, {"password": PASSWORD, "data_hash": ""}):
        response = client.post(sign_url(subject_a), posted)

        assert response.status_code == 422
        assert form_error_codes(response) == ["data_hash_required"]
        assert re.search(HASH_INPUT, page(response))  # the page offers what to sign now
    assert not EligibilitySignature.objects.exists()
    assert not AccessAttempt.objects.exists()  # no password attempt was spent


def test_the_page_refuses_a_hash_of_other_data_with_code_stale_data(
    client, subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a)
    login(client, investigator_a)

    response = client.post(
        sign_url(subject_a),
        {"password": PASSWORD, "data_hash": "a" * 64, "attested_criteria": JUDGEMENT},
    )

    assert response.status_code == 422
    assert form_error_codes(response) == ["stale_data"]
    assert not EligibilitySignature.objects.exists()


def test_a_replayed_signature_post_is_one_signature(
    client, subject_a, coordinator_a, investigator_a
):
    """Issue 10.5: sending the same form twice (double click, reload) signs once."""
    enter(subject_a, coordinator_a)
    login(client, investigator_a)
    posted = sign_form(client, subject_a)

    first = client.post(sign_url(subject_a), posted)
    again = client.post(sign_url(subject_a), posted)

    assert (first.status_code, again.status_code) == (302, 302)
    signature = EligibilitySignature.objects.get()
    assert not signature.is_void
    assert "This data was signed already: the existing signature stands." in page(
        client.get(again["Location"])
    )


def test_an_enrolled_subject_cannot_be_signed_again_on_the_page(
    client, site_a, subject_a, coordinator_a, investigator_a
):
    """Issue 10.5: once the subject left screening the signature the enrolment relied on
    is never superseded, even when a changed range leaves it out of date."""
    relied_on = sign_eligible(subject_a, by=coordinator_a)
    login(client, coordinator_a)
    assert transition(client, subject_a, c1d1="2026-03-07").status_code == 302
    add_alt_range(site_a, Decimal("45"), D(2026, 2, 28))  # the signature is now out of date
    login(client, investigator_a)

    screening_page = page(client.get(screening_url(subject_a)))
    sign_page = page(client.get(sign_url(subject_a)))
    response = client.post(
        sign_url(subject_a), {"password": PASSWORD, "data_hash": shown_hash(subject_a)}
    )

    assert 'id="sign-link"' not in screening_page
    assert 'id="not-in-screening"' in sign_page
    assert 'type="password"' not in sign_page
    assert response.status_code == 422
    assert form_error_codes(response) == ["not_in_screening"]
    assert EligibilitySignature.objects.get() == relied_on
    relied_on.refresh_from_db()
    assert not relied_on.is_void


@pytest.mark.parametrize(
    ("overrides", "code", "status"),
    [
        ({"qtc_ms": None}, "E09", "not_evaluable"),  # QTc missing
        ({"alt_value": Decimal("120")}, "I08", "not_met"),  # 120 / 40 = 3.0 x ULN > 2.5
    ],
    ids=["missing-qtc", "alt-3-x-uln"],
)
def test_a_verdict_that_is_not_eligible_cannot_be_signed_on_the_page(
    overrides, code, status, client, subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a, **overrides)
    login(client, investigator_a)
    screening_page = page(client.get(screening_url(subject_a)))
    assert (code, status) in checklist(screening_page)
    assert 'id="sign-link"' not in screening_page
    sign_page = page(client.get(sign_url(subject_a)))
    assert NOT_ELIGIBLE in sign_page
    assert 'type="password"' not in sign_page

    response = client.post(sign_url(subject_a), sign_form(client, subject_a))

    assert response.status_code == 422
    assert NOT_ELIGIBLE in page(response)
    assert not EligibilitySignature.objects.exists()


# --- entering and correcting the screening --------------------------------------------------------


def test_the_coordinator_enters_the_screening_through_the_page(client, subject_a, coordinator_a):
    add_reference_ranges(subject_a.site)
    login(client, coordinator_a)

    response = client.post(screening_url(subject_a), screening_post(subject_a))

    assert response.status_code == 302
    screening = Screening.objects.get(subject=subject_a)
    assert (screening.alt_value, screening.planned_c1d1, screening.version) == (
        Decimal("22"),
        PLANNED_C1D1,
        1,
    )
    assert screening.liver_metastases is False and screening.childbearing_potential is True
    html = page(client.get(response["Location"]))
    assert "Screening data saved." in html
    # Before sign-off the judgement criteria stand on the coordinator's entry only: pending,
    # not met (issue 11 C16)
    assert (
        '<span class="badge text-bg-info fs-6" id="verdict-badge">'
        "Eligible pending the investigator's attestation</span>"
    ) in html
    assert re.findall(r'data-pending="(\w+)"', html) == JUDGEMENT
    assert "Not signed." in html


def test_the_monitor_reads_the_screening_but_cannot_save_it(
    client, subject_a, coordinator_a, monitor_a
):
    enter(subject_a, coordinator_a)
    login(client, monitor_a)
    before = stored()

    html = page(client.get(screening_url(subject_a)))
    response = client.post(
        screening_url(subject_a), screening_post(subject_a, version=1, reason="x")
    )

    assert "Your role reads this screening; it does not enter data." in html
    assert 'id="screening-form"' not in html
    assert response.status_code == 403
    assert stored() == before


def test_a_user_of_another_site_gets_404_for_the_screening_pages(
    client, subject_a, coordinator_a, coordinator_b
):
    enter(subject_a, coordinator_a)
    login(client, coordinator_b)

    assert client.get(screening_url(subject_a)).status_code == 404
    assert (
        client.post(
            reverse("eligibility:verdict", args=[subject_a.pk]), screening_post(subject_a)
        ).status_code
        == 404
    )
    assert (
        client.post(
            reverse("eligibility:screen-fail", args=[subject_a.pk]), {"version": 1}
        ).status_code
        == 404
    )


def test_a_correction_without_a_reason_is_refused_by_the_reason_field(
    client, subject_a, coordinator_a
):
    enter(subject_a, coordinator_a)
    login(client, coordinator_a)
    before = stored()

    response = client.post(
        screening_url(subject_a),
        screening_post(subject_a, version=1, reason="", alt_value=Decimal("60")),
    )

    assert response.status_code == 422
    assert field_codes(response, "reason") == ["required"]
    assert "Nothing was saved: correct the fields marked below." in page(response)
    assert stored() == before


def test_a_correction_from_a_stale_version_gets_the_conflict_page(
    client, subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a)
    from eligibility import services

    services.save_screening(  # someone else corrects ALT to 30 first: version 2
        subject=subject_a,
        changes={"alt_value": Decimal("30")},
        expected_version=1,
        by=investigator_a,
        reason="Lab report re-read",
    )
    login(client, coordinator_a)
    before = stored()

    response = client.post(
        screening_url(subject_a),
        screening_post(subject_a, version=1, reason="Typo", alt_value=Decimal("60")),
    )

    assert response.status_code == 409
    html = page(response)
    assert "You opened version 1; the record is now at version 2." in html
    assert re.search(r"<td>ALT \(U/L\)</td><td>30\.000</td><td>60</td>", html)
    assert stored() == before


def test_correcting_a_signed_value_on_the_page_voids_the_signature_visibly_and_audited(
    client, subject_a, coordinator_a, investigator_a
):
    signature = sign_eligible(subject_a, by=coordinator_a)
    login(client, coordinator_a)

    # ALT 22 -> 60 U/L = 1.5 x ULN 40: still eligible, but not what was signed.
    response = client.post(
        screening_url(subject_a),
        correction_post(subject_a, "ALT re-read from the report", alt_value=Decimal("60")),
    )

    assert response.status_code == 302
    signature.refresh_from_db()
    assert signature.void_reason == "Data changed after signing: alt_value"
    html = page(client.get(screening_url(subject_a)))
    void = re.search(r'id="signature-void">(.*?)</div>', html, re.S).group(1)
    assert "<strong>Signature void</strong>: Data changed after signing: alt_value" in void
    assert "Signed by Test Inv_A" in void
    assert AuditEvent.objects.filter(
        table_name=SIG_TABLE,
        record_pk=str(signature.pk),
        action="UPDATE",
        reason="Data changed after signing: alt_value",
        app_user_id=coordinator_a.pk,
    ).exists()
    assert 'id="enrol-button"' not in html

    refused = transition(client, subject_a, c1d1="2026-03-07")

    assert refused.status_code == 422
    assert field_codes(refused, "target") == ["not_signed"]
    assert Subject.objects.get().status == S.SCREENING

    login(client, investigator_a)
    assert client.post(sign_url(subject_a), sign_form(client, subject_a)).status_code == 302
    login(client, coordinator_a)
    assert transition(client, subject_a, c1d1="2026-03-07").status_code == 302
    assert Subject.objects.get().status == S.ENROLLED


def test_a_demographics_correction_on_the_subject_page_voids_the_signature(
    client, subject_a, coordinator_a, investigator_a
):
    signature = sign_eligible(subject_a, by=coordinator_a)
    subject_a.refresh_from_db()
    login(client, coordinator_a)

    # Born 1981-05-17 instead of 1980-05-17: age 44 at consent, still eligible.
    response = client.post(
        reverse("subjects:edit", args=[subject_a.pk]),
        {
            "version": subject_a.version,
            "sex": "F",
            "date_of_birth": "1981-05-17",
            "year_of_birth": "",
            "initials": subject_a.initials,
            "consent_date": subject_a.consent_date.isoformat(),
            "consent_version": subject_a.consent_version,
            "reason": "Date of birth misread from the ID card",
        },
    )

    assert response.status_code == 302
    signature.refresh_from_db()
    assert signature.is_void
    # only the field whose value changed is named
    assert signature.void_reason == "Data changed after signing: date_of_birth"
    html = page(client.get(screening_url(subject_a)))
    void = re.search(r'id="signature-void">(.*?)</div>', html, re.S).group(1)
    assert "Signature void" in void and "date_of_birth" in void
    assert AuditEvent.objects.filter(
        table_name=SIG_TABLE, record_pk=str(signature.pk), action="UPDATE"
    ).exists()
    refused = transition(client, subject_a, c1d1="2026-03-07")
    assert refused.status_code == 422
    assert field_codes(refused, "target") == ["not_signed"]


def test_a_new_reference_range_in_force_on_the_lab_date_makes_the_signature_out_of_date(
    client, subject_a, site_a, coordinator_a, investigator_a
):
    sign_eligible(subject_a, by=coordinator_a)
    # The laboratory revised its ALT range from 2026-02-01 (ULN 45): the laboratory of
    # 2026-02-28 is now judged against ULN 45, not the ULN 40 that was signed.
    add_alt_range(site_a, Decimal("45"), D(2026, 2, 1))
    login(client, coordinator_a)

    html = page(client.get(screening_url(subject_a)))

    assert "Signature out of date" in html
    assert "Not signed." not in html
    assert 'id="enrol-button"' not in html
    assert "ALT 22 U/L = 0.49 × ULN 45 U/L" in reason_of(html, "I08")  # 22 / 45 = 0.4888...
    refused = transition(client, subject_a, c1d1="2026-03-07")
    assert field_codes(refused, "target") == ["not_signed"]


# --- enrolment through the pages ------------------------------------------------------------------


def test_the_enrol_button_enrols_with_the_signed_planned_c1d1(
    client, subject_a, coordinator_a, investigator_a
):
    sign_eligible(subject_a, by=coordinator_a)
    login(client, coordinator_a)
    html = page(client.get(screening_url(subject_a)))
    assert "Enrol now (C1D1 2026-03-07)" in html
    action, fields = enrol_form(html)
    assert fields == {
        "version": "1",
        "target": "enrolled",
        "on_date": "2026-03-02",
        "c1d1": "2026-03-07",
    }

    response = client.post(action, fields)

    assert response.status_code == 302
    subject = Subject.objects.get()
    assert (subject.status, subject.subject_number, subject.c1d1_date) == (
        S.ENROLLED,
        "GZ01-001",
        D(2026, 3, 7),
    )
    # C1D1 on the planned day; C2D1 21 days later; the first tumour assessment 42 days later.
    visits = {v.code: v.target_date for v in Visit.objects.filter(subject=subject)}
    assert visits["C1D1"] == D(2026, 3, 7)
    assert visits["C2D1"] == D(2026, 3, 28)
    assert visits["TA1"] == D(2026, 4, 18)
    detail = page(client.get(response["Location"]))
    assert "GZ01-001" in detail


def test_enrolment_on_the_status_page_with_another_c1d1_is_refused_by_the_c1d1_field(
    client, subject_a, coordinator_a, investigator_a
):
    sign_eligible(subject_a, by=coordinator_a)
    login(client, coordinator_a)
    visits = Visit.objects.count()

    response = transition(client, subject_a, c1d1="2026-03-08")

    assert response.status_code == 422
    assert field_errors(response, "c1d1") == [
        "C1D1 must be the planned date signed for (2026-03-07). To move it, change the "
        "planned C1D1 in the screening form; the investigator then signs again."
    ]
    subject = Subject.objects.get()
    assert (subject.status, subject.subject_number) == (S.SCREENING, None)
    assert Visit.objects.count() == visits


def test_enrolment_on_the_status_page_without_a_signature_is_refused(
    client, subject_a, coordinator_a
):
    enter(subject_a, coordinator_a)
    login(client, coordinator_a)

    response = transition(client, subject_a, c1d1="2026-03-07")

    assert response.status_code == 422
    assert field_codes(response, "target") == ["not_signed"]
    assert Subject.objects.get().subject_number is None


def test_moving_the_planned_c1d1_later_fails_i09_on_the_page_and_voids_the_signature(
    client, subject_a, coordinator_a, investigator_a
):
    signature = sign_eligible(subject_a, by=coordinator_a)
    login(client, coordinator_a)

    # 2026-03-07 -> 2026-03-10: the pregnancy test of 2026-03-02 becomes 8 days old (> 7).
    response = client.post(
        screening_url(subject_a),
        correction_post(
            subject_a, "C1D1 postponed: pharmacy delivery", planned_c1d1=D(2026, 3, 10)
        ),
    )

    assert response.status_code == 302
    html = page(client.get(screening_url(subject_a)))
    assert checklist(html)[0] == ("I09", "not_met")
    assert reason_of(html, "I09") == (
        "negative serum pregnancy test 2026-03-02 is 8 days before planned C1D1 2026-03-10: "
        "test is older than 7 days before C1D1"
    )
    assert "Data changed after signing: planned_c1d1" in html
    signature.refresh_from_db()
    assert signature.is_void
    assert 'id="enrol-button"' not in html
    assert 'id="screen-fail-button"' in html


# --- screen failure and the screening log ---------------------------------------------------------


def test_recording_a_screen_failure_stores_the_failing_criteria_as_the_reason(
    client, subject_a, coordinator_a
):
    # ECOG 3 (I03 needs 0-2); ALT 120 U/L = 3.0 x ULN 40 (I08 limit 2.5 x ULN).
    enter(subject_a, coordinator_a, ecog=3, alt_value=Decimal("120"))
    subject_a.refresh_from_db()
    login(client, coordinator_a)
    assert 'id="screen-fail-button"' in page(client.get(screening_url(subject_a)))

    response = client.post(
        reverse("eligibility:screen-fail", args=[subject_a.pk]), {"version": subject_a.version}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("subjects:detail", args=[subject_a.pk])
    subject = Subject.objects.get()
    assert (subject.status, subject.status_date) == (S.SCREEN_FAILED, D(2026, 3, 2))
    change = StatusChange.objects.filter(subject=subject).latest("id")
    assert (change.from_status, change.to_status, change.by_id) == (
        S.SCREENING,
        S.SCREEN_FAILED,
        coordinator_a.pk,
    )
    assert change.reason == FAILURE
    assert "Recorded as a screen failure." in page(client.get(response["Location"]))


def test_a_screen_failure_needs_a_criterion_not_met(client, subject_a, coordinator_a):
    enter(subject_a, coordinator_a, qtc_ms=None)  # only missing data, nothing failed
    subject_a.refresh_from_db()
    login(client, coordinator_a)

    response = client.post(
        reverse("eligibility:screen-fail", args=[subject_a.pk]),
        {"version": subject_a.version},
        follow=True,
    )

    assert "No criterion is failed: complete the data instead." in page(response)
    assert Subject.objects.get().status == S.SCREENING


def test_a_screen_failure_from_a_stale_or_garbled_version_changes_nothing(
    client, subject_a, coordinator_a
):
    enter(subject_a, coordinator_a, ecog=3)
    login(client, coordinator_a)
    url = reverse("eligibility:screen-fail", args=[subject_a.pk])

    assert client.post(url, {"version": subject_a.version + 5}).status_code == 409
    assert client.post(url, {"version": "abc"}).status_code == 409
    assert client.post(url, {}).status_code == 409
    assert Subject.objects.get().status == S.SCREENING


def log_counts(html: str) -> list[dict]:
    table = re.search(r'id="log-counts">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    names = ["screened", "in_screening", "screen_failed", "withdrawn_in_screening", "enrolled"]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows.append({"site__code": cells[0], **dict(zip(names, map(int, cells[1:]), strict=True))})
    return rows


def log_rows(html: str) -> list[list[str]]:
    table = re.search(r'id="log-rows">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S):
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        rows.append([unescape(c) for c in cells])
    return rows


def test_the_screening_log_page_lists_both_sites_for_the_data_manager(
    client, site_a, site_b, coordinator_a, coordinator_b, data_manager
):
    screened_cast(site_a, site_b, coordinator_a, coordinator_b)
    login(client, data_manager)

    html = client.get(reverse("eligibility:log")).content.decode()

    assert log_counts(html) == [COUNTS_A, COUNTS_B]
    consent = "2026-02-27"
    assert log_rows(html) == [
        ["GZ01-S001", "GZ01", consent, "Enrolled", "GZ01-001", ""],
        ["GZ01-S002", "GZ01", consent, "Screen failed", "—", FAILURE],
        ["GZ01-S003", "GZ01", consent, "Screening", "—", ""],
        ["SH02-S001", "SH02", consent, "Screening", "—", ""],
        ["SH02-S002", "SH02", consent, "Screen failed", "—", FAILURE],
    ]


def test_the_screening_log_page_of_a_coordinator_shows_only_their_site(
    client, site_a, site_b, coordinator_a, coordinator_b
):
    screened_cast(site_a, site_b, coordinator_a, coordinator_b)
    login(client, coordinator_b)

    html = client.get(reverse("eligibility:log")).content.decode()

    assert log_counts(html) == [COUNTS_B]
    assert [row[0] for row in log_rows(html)] == ["SH02-S001", "SH02-S002"]
    assert "GZ01" not in html


# --- the live verdict -----------------------------------------------------------------------------


def live(client, subject, **overrides):
    return client.post(
        reverse("eligibility:verdict", args=[subject.pk]),
        screening_post(subject, **overrides),
        headers={"HX-Request": "true"},
    )


def test_the_live_verdict_shows_typed_values_failing_first_and_saves_nothing(
    client, subject_a, coordinator_a
):
    add_reference_ranges(subject_a.site)
    login(client, coordinator_a)
    before = stored()

    # ALT 120 U/L typed: 120 / 40 = 3.0 x ULN > 2.5 (I08 not met); QTc left blank (E09 missing).
    response = live(client, subject_a, alt_value=Decimal("120"), qtc_ms=None)

    assert response.status_code == 200
    html = page(response)
    assert "<html" not in html and html.lstrip().startswith('<div id="verdict"')
    assert "live, not saved" in html
    order = checklist(html)
    assert order[:2] == [("I08", "not_met"), ("E09", "not_evaluable")]
    assert len(order) == 25
    assert all(status in ("met", "pending_attestation") for _code, status in order[2:])
    assert reason_of(html, "I08") == (
        "ALT 120 U/L = 3.0 × ULN 40 U/L; limit 2.5 × ULN without liver metastases"
    )
    assert reason_of(html, "E09") == "(b) QTc missing"
    assert "1 not met · 1 not evaluable (data missing)" in html
    assert stored() == before


def test_the_live_verdict_reflects_typed_values_over_the_stored_ones(
    client, subject_a, coordinator_a
):
    enter(subject_a, coordinator_a)  # stored: ALT 22 U/L, eligible
    login(client, coordinator_a)
    before = stored()

    # Liver metastases ticked: ALT 180 U/L = 4.5 x ULN 40 <= 5 x ULN, met.
    response = live(client, subject_a, alt_value=Decimal("180"), liver_metastases=True, version=1)

    html = page(response)
    assert ("I08", "met") in checklist(html)
    assert "ALT 180 U/L = 4.5 × ULN 40 U/L; limit 5 × ULN with liver metastases" in reason_of(
        html, "I08"
    )
    assert stored() == before
    assert Screening.objects.get().alt_value == Decimal("22")


def test_the_live_verdict_treats_an_invalid_typed_value_as_not_entered(
    client, subject_a, coordinator_a
):
    enter(subject_a, coordinator_a)  # stored: PLT 210, eligible
    login(client, coordinator_a)

    response = live(client, subject_a, plt_value="abc")

    html = page(response)
    assert ("I08", "not_evaluable") in checklist(html)
    assert reason_of(html, "I08") == "PLT missing"


def test_the_live_verdict_uses_the_alt_range_in_force_on_the_typed_laboratory_date(
    client, subject_a, site_a, coordinator_a
):
    add_reference_ranges(site_a)
    add_alt_range(site_a, Decimal("50"), D(2026, 2, 28))  # new ULN 50 from 2026-02-28
    login(client, coordinator_a)

    day_before = page(live(client, subject_a, alt_value=Decimal("120"), lab_date=D(2026, 2, 27)))
    on_the_day = page(live(client, subject_a, alt_value=Decimal("120"), lab_date=D(2026, 2, 28)))

    # 120 / 40 = 3.0 x ULN (old range); 120 / 50 = 2.4 x ULN (new range).
    assert "ALT 120 U/L = 3.0 × ULN 40 U/L" in reason_of(day_before, "I08")
    assert ("I08", "not_met") in checklist(day_before)
    assert "ALT 120 U/L = 2.4 × ULN 50 U/L" in reason_of(on_the_day, "I08")
    assert ("I08", "met") in checklist(on_the_day)
    assert ReferenceRange.objects.filter(site=site_a, analyte="alt").count() == 2


# --- bad input on the screening page: a message by the field, nothing stored ----------------------

BAD_INPUT = [
    # Hb limits of eligibility.plausibility: 20-250 g/L.
    ({"hb_value": "0", "hb_unit": "g/L"}, "hb_value", "implausible_value"),
    ({"hb_value": "900", "hb_unit": "g/L"}, "hb_value", "implausible_value"),
    # 90 g/dL = 900 g/L: converted before the check.
    ({"hb_value": "90", "hb_unit": "g/dL"}, "hb_value", "implausible_value"),
    ({"hb_value": "9", "hb_unit": ""}, "hb_unit", "unit_required"),
    ({"anc_value": "-1.5"}, "anc_value", "min_value"),
    ({"qtc_ms": "50"}, "qtc_ms", "min_value"),
    ({"lab_date": "2026-03-03"}, "lab_date", "future_date"),
    ({"first_procedure_date": "2026-03-03"}, "first_procedure_date", "future_date"),
    # The form offers no unit for ANC (10^9/L only); a unit of another analyte is refused.
    ({"hb_unit": "10^9/L"}, "hb_unit", "invalid_choice"),
    ({"creatinine_unit": "U/L"}, "creatinine_unit", "invalid_choice"),
    ({"plt_value": "abc"}, "plt_value", "invalid"),
]


@pytest.mark.parametrize(
    ("bad", "field", "code"), BAD_INPUT, ids=[f"{b}" for b, _f, _m in BAD_INPUT]
)
def test_bad_input_is_refused_by_its_field_and_nothing_is_stored(
    bad, field, code, client, subject_a, coordinator_a
):
    add_reference_ranges(subject_a.site)
    login(client, coordinator_a)
    before = stored()
    post = screening_post(subject_a)
    post.update(bad)

    response = client.post(screening_url(subject_a), post)

    assert response.status_code == 422
    assert field_codes(response, field) == [code]
    assert len(field_errors(response, field)) == 1  # shown by the field
    assert "Nothing was saved: correct the fields marked below." in page(response)
    assert stored() == before
    assert SCRIPT not in response.content.decode()


def test_angle_brackets_in_free_text_are_stored_and_shown_escaped(client, subject_a, coordinator_a):
    """Issue 10.9: "< 75 mg/m2" is clinical wording, stored as typed; the page escapes it."""
    add_reference_ranges(subject_a.site)
    login(client, coordinator_a)
    regimen = f"Doxorubicin < 75 mg/m2 {SCRIPT}"

    response = client.post(
        screening_url(subject_a), screening_post(subject_a, anthracycline_regimen=regimen)
    )

    assert response.status_code == 302
    assert Screening.objects.get(subject=subject_a).anthracycline_regimen == regimen
    html = client.get(screening_url(subject_a)).content.decode()
    assert "Doxorubicin &lt; 75 mg/m2 &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT not in html


def test_bad_input_in_a_correction_leaves_the_saved_screening_alone(
    client, subject_a, coordinator_a
):
    enter(subject_a, coordinator_a)
    login(client, coordinator_a)
    before = stored()

    response = client.post(
        screening_url(subject_a),
        screening_post(subject_a, version=1, reason="Re-typed", hb_value="900"),
    )

    assert field_errors(response, "hb_value") == [
        "900 g/L is not a possible value (expected 20–250 g/L); check the report."
    ]
    assert stored() == before


def test_the_form_offers_no_unit_choice_for_anc(client, subject_a, coordinator_a):
    login(client, coordinator_a)

    html = client.get(screening_url(subject_a)).content.decode()

    assert 'name="anc_value"' in html
    assert 'name="anc_unit"' not in html
    hb_units = re.search(r'<select name="hb_unit".*?</select>', html, re.S).group(0)
    assert re.findall(r'<option value="([^"]*)"', hb_units) == ["", "g/L", "g/dL"]


# --- the screening window -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("c1d1", "shown"),
    [(D(2026, 3, 27), False), (D(2026, 3, 28), True)],  # 28 and 29 days after 2026-02-27
    ids=["28-days", "29-days"],
)
def test_the_screening_window_warning_on_the_page(c1d1, shown, client, subject_a, coordinator_a):
    enter(subject_a, coordinator_a, planned_c1d1=c1d1)
    login(client, coordinator_a)

    html = page(client.get(screening_url(subject_a)))

    warning = (
        "Planned C1D1 is 29 days after the first screening procedure; the screening window "
        "is 28 days."
    )
    assert (warning in html) is shown
    assert ('id="window-warning"' in html) is shown


# --- issue 11 A2 / C4: after enrolment the screening is read-only, on the page and its POST ---


@pytest.fixture
def enrolled_a(client, subject_a, coordinator_a):
    sign_eligible(subject_a, by=coordinator_a)
    login(client, coordinator_a)
    assert transition(client, subject_a, c1d1="2026-03-07").status_code == 302
    client.logout()
    return subject_a


def test_a_correction_posted_after_enrolment_is_refused_with_not_in_screening(
    client, enrolled_a, coordinator_a
):
    """The page only hid its form: a posted correction was saved (and voided the signature)."""
    login(client, coordinator_a)
    before = stored()

    response = client.post(
        screening_url(enrolled_a), correction_post(enrolled_a, "Late correction", qtc_ms="470")
    )

    assert response.status_code == 422
    codes = [e.code for e in response.context["form"].non_field_errors().as_data()]
    assert codes == ["not_in_screening"]
    assert stored() == before
    assert EligibilitySignature.objects.get().voided_at is None


@pytest.mark.parametrize("who", ["coordinator_a", "investigator_a", "monitor_a", "data_manager"])
def test_after_enrolment_every_role_reads_every_screening_field(client, cast, who, enrolled_a):
    from eligibility.services import DATA_FIELDS

    login(client, cast[who])

    response = client.get(screening_url(enrolled_a))
    html = page(response)

    assert response.status_code == 200
    assert 'id="screening-readonly"' in html
    assert 'id="save-screening"' not in html
    assert 'name="reason"' not in html
    form = response.context["form"]
    assert all(form.fields[name].disabled for name in DATA_FIELDS)
    for name in DATA_FIELDS:
        assert f'name="{name}"' in html, name
    assert 'value="470"' not in html and 'value="2026-03-07"' in html  # planned C1D1 shown
    assert 'id="signature-valid"' in html
    assert 'id="verdict"' in html


def test_another_sites_coordinator_cannot_read_the_enrolled_screening(
    client, coordinator_b, enrolled_a
):
    login(client, coordinator_b)
    assert client.get(screening_url(enrolled_a)).status_code == 404
