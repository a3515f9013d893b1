"""Tests of the subject pages through the Django test client, on real PostgreSQL.

The clock is frozen at 2026-03-02 10:00 in Guangzhou (``site.today()`` is 2026-03-02), as in
test_services.py, whose timelines these tests reuse.
"""

from __future__ import annotations

import datetime as dt
import re
from html import unescape

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEvent
from subjects.lifecycle import LABELS, SubjectStatus
from subjects.models import StatusChange, Subject, Visit
from tests.factories import enrol, make_subject
from tests.subjects.test_services import (
    ALLOWED,
    BAD_STEPS,
    NOW,
    REFUSED,
    STEPS,
    TODAY,
    D,
    change,
    prepare_enrolment,
    record,
    schedule_of,
    snapshot,
    subject_at,
    subject_on_treatment_since_december,
)

S = SubjectStatus
SCRIPT = "<script>alert(1)</script>"


def refusal_message(current, target):
    if current == target:
        return f"The subject is already {LABELS[current]}."
    return f"A subject who is {LABELS[current]} cannot become {LABELS[target]}."


def page_message(target, field, code) -> str:
    """What the page shows beside ``field`` for a refusal of test_services.BAD_STEPS."""
    if field == "target":  # eligibility's refusal of an enrolment without screening data
        return "Enter the screening data first."
    return {
        "reason_required": f"A reason is required when a subject becomes {LABELS[target]}.",
        "future_date": "The date cannot be in the future.",
        "before_previous_change": (
            "The date cannot be before the previous status change (2026-01-05)."
        ),
        "max_length": "Ensure this value has at most 500 characters (it has 501).",
        "c1d1_before_enrolment": "Cycle 1 day 1 cannot be before enrolment.",
        "last_dose_after_decision": "The last dose cannot be after the decision to stop.",
        "before_c1d1": "The last dose cannot be before C1D1.",
    }[code]


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def coordinator_client(client, coordinator_a):
    client.force_login(coordinator_a)
    return client


def field_errors(response, field: str) -> list[str]:
    """The error messages rendered beside the form field ``field`` (crispy's error ids)."""
    html = response.content.decode()
    pattern = rf'id="error_\d+_id_{field}"><strong>(.*?)</strong>'
    return [unescape(message) for message in re.findall(pattern, html, re.S)]


def counts():
    return (
        Subject.objects.count(),
        Visit.objects.count(),
        StatusChange.objects.count(),
        AuditEvent.objects.count(),
    )


def iso(value):
    return value.isoformat() if value else ""


# --- the lifecycle through the page ----------------------------------------------------------


def post_transition(client, subject, target, **overrides):
    data = {"reason": "", "c1d1": None, "last_dose": None, **STEPS.get(target, {}), **overrides}
    subject = prepare_enrolment(subject, target, subject.created_by, **overrides)
    return client.post(
        reverse("subjects:transition", args=[subject.pk]),
        {
            "version": subject.version,
            "target": target,
            "on_date": iso(data["on_date"]),
            "c1d1": iso(data["c1d1"]),
            "last_dose": iso(data["last_dose"]),
            "reason": data["reason"],
        },
    )


@pytest.mark.parametrize(("current", "target"), ALLOWED, ids=lambda s: str(s))
def test_every_allowed_transition_works_through_the_page(
    current, target, coordinator_client, site_a, coordinator_a
):
    subject = subject_at(current, site_a, coordinator_a)

    response = post_transition(coordinator_client, subject, target)

    assert response.status_code == 302
    assert response["Location"] == reverse("subjects:detail", args=[subject.pk])
    subject.refresh_from_db()
    assert (subject.status, subject.status_date) == (target, STEPS[target]["on_date"])
    recorded = StatusChange.objects.filter(subject=subject).latest("id")
    assert (recorded.from_status, recorded.to_status, recorded.on_date, recorded.reason) == (
        current,
        target,
        STEPS[target]["on_date"],
        STEPS[target].get("reason", ""),
    )
    page = coordinator_client.get(response["Location"])
    assert f"Status changed to {LABELS[target]}." in page.content.decode()


def test_enrolment_through_the_page_shows_the_subject_number_and_cycles(
    coordinator_client, site_a, coordinator_a
):
    subject = subject_at(S.SCREENING, site_a, coordinator_a)
    response = post_transition(coordinator_client, subject, S.ENROLLED)
    page = coordinator_client.get(response["Location"]).content.decode()
    assert '<h1 class="h3 mb-0" id="subject-title">GZ01-001</h1>' in page
    assert 'data-code="C1D1"' in page
    assert 'data-code="C36D1"' in page
    assert 'data-code="TA17"' in page
    assert "target 2026-01-26" in page  # C1D1


def test_a_reason_with_angle_brackets_is_stored_and_shown_escaped(
    coordinator_client, site_a, coordinator_a
):
    """Issue 10.9: "ANC < 0.5" is clinical wording, stored as typed and escaped on the page."""
    subject = subject_at(S.SCREENING, site_a, coordinator_a)
    reason = f"ANC < 0.5 x10^9/L {SCRIPT}"

    response = post_transition(coordinator_client, subject, S.SCREEN_FAILED, reason=reason)

    assert response.status_code == 302
    assert StatusChange.objects.filter(subject=subject).latest("id").reason == reason
    page = coordinator_client.get(response["Location"]).content.decode()
    assert "ANC &lt; 0.5 x10^9/L &lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert SCRIPT not in page


@pytest.mark.parametrize(("current", "target"), REFUSED, ids=lambda s: str(s))
def test_every_other_transition_is_refused_beside_the_status_field_and_changes_nothing(
    current, target, coordinator_client, site_a, coordinator_a
):
    subject = subject_at(current, site_a, coordinator_a)
    before = snapshot(subject)

    response = post_transition(
        coordinator_client,
        subject,
        target,
        on_date=TODAY,
        reason="reason given",
        c1d1=TODAY,
        last_dose=TODAY,
    )

    assert response.status_code == 422
    assert field_errors(response, "target") == [refusal_message(current, target)]
    assert snapshot(subject) == before


@pytest.mark.parametrize(("current", "target", "overrides", "field", "code"), BAD_STEPS)
def test_a_transition_with_bad_data_shows_the_message_beside_the_field(
    current, target, overrides, field, code, coordinator_client, site_a, coordinator_a
):
    subject = subject_at(current, site_a, coordinator_a)
    subject = prepare_enrolment(subject, target, coordinator_a, **overrides)
    before = snapshot(subject)

    response = post_transition(coordinator_client, subject, target, **overrides)

    assert response.status_code == 422
    assert field_errors(response, field) == [page_message(target, field, code)]
    assert snapshot(subject) == before


def test_the_status_menu_offers_only_the_changes_allowed_now(
    coordinator_client, site_a, coordinator_a
):
    subject = subject_at(S.ON_TREATMENT, site_a, coordinator_a)
    page = coordinator_client.get(reverse("subjects:detail", args=[subject.pk])).content.decode()
    menu = re.search(r'<select name="target".*?</select>', page, re.S).group(0)
    assert re.findall(r'<option value="(\w+)"', menu) == ["off_treatment", "withdrawn", "died"]


# --- visits through the page -----------------------------------------------------------------


def post_visit(client, subject, code, actual_date, reason=""):
    visit = Visit.objects.get(subject=subject, code=code)
    return client.post(
        reverse("subjects:visit", args=[subject.pk, visit.pk]),
        {"version": visit.version, "actual_date": iso(actual_date), "note": "", "reason": reason},
    )


def test_recording_c3d1_a_week_late_shifts_later_cycles_but_not_assessments(
    coordinator_client, site_a, coordinator_a
):
    # C1D1 2025-12-01: C3D1 2026-01-12, C4D1 02-02, C5D1 02-23; TA1 01-12, TA2 02-23
    subject = subject_on_treatment_since_december(site_a, coordinator_a)
    before = schedule_of(subject)

    response = post_visit(coordinator_client, subject, "C3D1", D(2026, 1, 19))

    assert response.status_code == 302
    after = schedule_of(subject)
    assert after["C4D1"] == (D(2026, 2, 9), D(2026, 2, 6), D(2026, 2, 12))  # 01-19 + 21 d
    assert after["C5D1"][0] == D(2026, 3, 2)  # 02-09 + 21 d
    assert all(after[code] == dates for code, dates in before.items() if code.startswith("TA"))
    page = coordinator_client.get(response["Location"]).content.decode()
    assert "done 2026-01-19" in page
    assert "(4 days late)" in page  # the window closed on 2026-01-15


def test_correcting_a_recorded_visit_without_a_reason_is_refused_beside_the_reason(
    coordinator_client, site_a, coordinator_a
):
    subject = subject_on_treatment_since_december(site_a, coordinator_a)
    record(subject, "C3D1", coordinator_a, D(2026, 1, 19))
    before = snapshot(subject)

    response = post_visit(coordinator_client, subject, "C3D1", D(2026, 1, 12))

    assert response.status_code == 422  # the form again, refused
    assert field_errors(response, "reason") == ["A reason for change is required."]
    assert snapshot(subject) == before

    response = post_visit(
        coordinator_client, subject, "C3D1", D(2026, 1, 12), reason="Source: visit on 01-12"
    )
    assert response.status_code == 302
    assert Visit.objects.get(subject=subject, code="C3D1").actual_date == D(2026, 1, 12)


# --- registration ----------------------------------------------------------------------------


@pytest.fixture
def valid_registration(site_a):
    return {
        "site": site_a.pk,
        "sex": "F",
        "date_of_birth": "1980-05-17",
        "year_of_birth": "",
        "initials": "ZWL",
        "consent_date": "2026-02-26",
        "consent_version": "2.1",
    }


def test_a_coordinator_registers_a_subject_and_lands_on_its_timeline(
    coordinator_client, valid_registration
):
    response = coordinator_client.post(reverse("subjects:register"), valid_registration)

    subject = Subject.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("subjects:detail", args=[subject.pk])
    page = coordinator_client.get(response["Location"])
    html = page.content.decode()
    assert page.status_code == 200
    assert "Subject GZ01-S001 registered." in html
    assert '<li class="st-due" data-code="SCR">' in html
    # screening from the consent (2026-02-26) for up to 28 days
    assert "target 2026-02-26" in html
    assert "(2026-02-26 – 2026-03-26)" in html
    assert (subject.initials, subject.created_by.username) == ("ZWL", "coord_a")


def test_two_registrations_at_one_site_get_s001_and_s002(coordinator_client, valid_registration):
    for _ in range(2):
        response = coordinator_client.post(reverse("subjects:register"), valid_registration)
        assert response.status_code == 302
    assert sorted(Subject.objects.values_list("screening_number", flat=True)) == [
        "GZ01-S001",
        "GZ01-S002",
    ]


BAD_REGISTRATIONS = {
    "birth date in the future": (
        {"date_of_birth": "2026-03-03"},
        "date_of_birth",
        "The date of birth cannot be in the future.",
    ),
    "consent before birth": (
        {"consent_date": "1980-05-16"},
        "consent_date",
        "Consent cannot be before the date of birth.",
    ),
    "consent date in the future": (
        {"consent_date": "2026-03-03"},
        "consent_date",
        "The consent date cannot be in the future.",
    ),
    "nonexistent site": (
        {"site": "999999"},
        "site",
        "Choose one of your sites; that site is unknown or not yours.",
    ),
    "site id that is not a number": (
        {"site": "GZ01"},
        "site",
        "Choose one of your sites; that site is unknown or not yours.",
    ),
    "10,000-character initials": (
        {"initials": "A" * 10_000},
        "initials",
        "Ensure this value has at most 4 characters (it has 10000).",
    ),
    "script in initials": (
        {"initials": SCRIPT},
        "initials",
        "Ensure this value has at most 4 characters (it has 25).",
    ),
    "short markup in initials": (
        {"initials": "<b>"},
        "initials",
        "2 to 4 capital letters, e.g. ZWL.",
    ),
    "script in consent version": (
        {"consent_version": SCRIPT},
        "consent_version",
        "Ensure this value has at most 20 characters (it has 25).",
    ),
    "short markup in consent version": (
        {"consent_version": "<b>2</b>"},
        "consent_version",
        "Letters, digits, dot, dash.",
    ),
    "text in the birth date": (
        {"date_of_birth": "17 May, nineteen eighty"},
        "date_of_birth",
        "Enter a valid date.",
    ),
    "text in the consent date": (
        {"consent_date": "yesterday"},
        "consent_date",
        "Enter a valid date.",
    ),
}


@pytest.mark.parametrize(
    ("changes", "field", "message"), BAD_REGISTRATIONS.values(), ids=BAD_REGISTRATIONS.keys()
)
def test_bad_registration_input_is_shown_beside_its_field_and_writes_nothing(
    changes, field, message, coordinator_client, valid_registration
):
    before = counts()

    response = coordinator_client.post(
        reverse("subjects:register"), {**valid_registration, **changes}
    )

    assert response.status_code == 422  # the form again, refused
    assert response.templates[0].name == "subjects/subject_form.html"
    assert message in field_errors(response, field)
    assert SCRIPT not in response.content.decode()
    assert counts() == before


IMPLAUSIBLE_REGISTRATIONS = {
    # issue 10.8: each of these was stored before ("age 2025")
    "born in year 1": ({"date_of_birth": "0001-01-01"}, "date_of_birth", "date_implausible"),
    "born before 1900": ({"date_of_birth": "1899-12-31"}, "date_of_birth", "date_implausible"),
    "consent in year 1": ({"consent_date": "0001-01-01"}, "consent_date", "date_implausible"),
    "age 126 at consent": ({"date_of_birth": "1900-01-01"}, "date_of_birth", "age_implausible"),
    "age 2 at consent": ({"date_of_birth": "2023-06-01"}, "date_of_birth", "age_implausible"),
    "year of birth only, age 116": (
        {"date_of_birth": "", "year_of_birth": "1910"},
        "year_of_birth",
        "age_implausible",
    ),
    "Arabic-Indic year of birth": (
        {"date_of_birth": "", "year_of_birth": "\u0661\u0669\u0668\u0660"},  # 1980
        "year_of_birth",
        "non_ascii_digits",
    ),
    "year of birth as an exponent": (
        {"date_of_birth": "", "year_of_birth": "1.98e3"},
        "year_of_birth",
        "not_a_plain_number",
    ),
}


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    IMPLAUSIBLE_REGISTRATIONS.values(),
    ids=IMPLAUSIBLE_REGISTRATIONS.keys(),
)
def test_an_implausible_birth_or_consent_is_refused_beside_its_field(
    changes, field, code, coordinator_client, valid_registration
):
    before = counts()

    response = coordinator_client.post(
        reverse("subjects:register"), {**valid_registration, **changes}
    )

    assert response.status_code == 422  # the form again, refused
    errors = response.context["form"].errors.as_data()
    assert [e.code for e in errors[field]] == [code]
    assert field_errors(response, field)  # shown beside the field
    assert counts() == before


def test_ages_just_inside_the_plausible_range_are_registered(
    coordinator_client, valid_registration
):
    """10 and 110 years at consent (2026-02-26) are entered; I02 (18-70) judges them later."""
    for born in ("2016-02-26", "1916-02-26"):
        response = coordinator_client.post(
            reverse("subjects:register"), {**valid_registration, "date_of_birth": born}
        )
        assert response.status_code == 302, born


def test_a_site_of_another_user_is_refused_beside_the_site_field(
    coordinator_client, valid_registration, site_b
):
    before = counts()

    response = coordinator_client.post(
        reverse("subjects:register"), {**valid_registration, "site": site_b.pk}
    )

    assert response.status_code == 422  # the form again, refused
    assert field_errors(response, "site") == [
        "Choose one of your sites; that site is unknown or not yours."
    ]
    assert counts() == before


# --- the subject page: a constant number of SQL queries --------------------------------------


def subject_with_thirty_visits(site, by):
    """Timeline B, stopped after C3D1 (C1D1 2025-12-01; decision and last dose 2026-01-12).

    Visits: SCR + C1..C3 (C4D1 on 02-02 is after the decision) + TA1..TA17 (42 x 17 = 714 <=
    730 days to 2027-12-01) + EOT + SFU (01-12 + 21 d = 02-02) + SURV1..SURV7 (02-02 + 84 k
    <= 2027-12-01, 667 days on: 588 <= 667 < 672) = 1 + 3 + 17 + 1 + 1 + 7 = 30.
    """
    subject = subject_on_treatment_since_december(site, by)
    for code, day in [
        ("SCR", D(2025, 11, 12)),
        ("C1D1", D(2025, 12, 1)),
        ("C2D1", D(2025, 12, 22)),
        ("C3D1", D(2026, 1, 12)),
        ("TA1", D(2026, 1, 12)),
    ]:
        record(subject, code, by, day)
    subject.refresh_from_db()
    subject = change(
        subject,
        S.OFF_TREATMENT,
        by,
        on_date=D(2026, 1, 12),
        last_dose=D(2026, 1, 12),
        reason="Grade 3 hypertension at 8 mg",
    )
    record(subject, "EOT", by, D(2026, 1, 14))
    record(subject, "SFU", by, D(2026, 2, 2))
    return subject


def test_the_subject_page_makes_as_many_queries_for_30_visits_as_for_1(
    coordinator_client, site_a, coordinator_a
):
    one = make_subject(site_a, coordinator_a)
    thirty = subject_with_thirty_visits(site_a, coordinator_a)
    assert Visit.objects.filter(subject=one).count() == 1
    assert Visit.objects.filter(subject=thirty).count() == 30
    assert Visit.objects.filter(subject=thirty, actual_date__isnull=False).count() == 7

    queries = {}
    for label, subject in [("1 visit", one), ("30 visits", thirty)]:
        url = reverse("subjects:detail", args=[subject.pk])
        coordinator_client.get(url)  # warm up
        with CaptureQueriesContext(connection) as captured:
            response = coordinator_client.get(url)
        assert response.status_code == 200
        assert response.content.decode().count("data-code=") == int(label.split()[0])
        queries[label] = len(captured)
    print(f"subject page SQL queries: {queries}")
    assert queries["1 visit"] == queries["30 visits"]


# --- the dashboard ---------------------------------------------------------------------------


def test_the_dashboard_shows_overdue_and_this_weeks_visits_of_the_own_site_only(
    client, cast, site_a, site_b, coordinator_a
):
    coordinator_b = cast["coordinator_b"]
    # site A
    make_subject(site_a, coordinator_a, consent_date=D(2026, 1, 5))  # SCR closed 02-02: overdue
    make_subject(site_a, coordinator_a, consent_date=D(2026, 2, 26))  # SCR open to 03-26: due
    boundary = make_subject(site_a, coordinator_a, consent_date=D(2026, 2, 9))
    later = make_subject(site_a, coordinator_a, consent_date=D(2026, 2, 9))
    for subject, c1d1 in [(boundary, D(2026, 3, 12)), (later, D(2026, 3, 13))]:
        record(subject, "SCR", coordinator_a, D(2026, 2, 10))  # done: listed nowhere
        subject.refresh_from_db()
        change(subject, S.ENROLLED, coordinator_a, on_date=D(2026, 2, 16), c1d1=c1d1)
    # C1D1 on 03-12 opens on 03-09 = today + 7: due this week; on 03-13 it opens 03-10: not yet
    # site B: the same overdue and due screening visits
    make_subject(site_b, coordinator_b, consent_date=D(2026, 1, 5))
    make_subject(site_b, coordinator_b, consent_date=D(2026, 2, 26))

    client.force_login(coordinator_a)
    response = client.get(reverse("home"))

    def rows(name):
        return [(str(v.subject), v.code) for v in response.context[name]]

    assert rows("overdue") == [("GZ01-S001", "SCR")]
    # in window-close order, the most urgent first: C1D1 03-12 closes 03-15 (+3 days), the
    # screening visit of the 02-26 consent closes 03-26 (the day before the 28-day limit)
    assert rows("due") == [("GZ01-001", "C1D1"), ("GZ01-S002", "SCR")]
    html = response.content.decode()
    assert '<div class="stat text-danger" id="stat-overdue">1</div>' in html
    assert '<div class="stat text-primary" id="stat-due">2</div>' in html
    assert "SH02-S00" not in html

    client.force_login(cast["data_manager"])
    response = client.get(reverse("home"))
    assert sorted(rows("overdue")) == [("GZ01-S001", "SCR"), ("SH02-S001", "SCR")]
    assert sorted(rows("due")) == [
        ("GZ01-001", "C1D1"),
        ("GZ01-S002", "SCR"),
        ("SH02-S002", "SCR"),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "target", ["https://evil.example/x", "//evil.example/x", "javascript:alert(1)"]
)
def test_site_switcher_never_redirects_off_the_site(client, coordinator_a, target):
    client.force_login(coordinator_a)
    response = client.post(reverse("switch-site"), {"site": "", "next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("home")


@pytest.mark.django_db
def test_site_switcher_ignores_a_non_numeric_site(client, coordinator_a, site_a):
    client.force_login(coordinator_a)
    response = client.post(reverse("switch-site"), {"site": "abc", "next": "/subjects/"})
    assert response.status_code == 302
    assert response["Location"] == "/subjects/"
    assert "edc_site" not in client.session


@pytest.mark.django_db
def test_site_switcher_remembers_an_own_site_but_not_another(client, coordinator_a, site_a, site_b):
    client.force_login(coordinator_a)
    client.post(reverse("switch-site"), {"site": str(site_b.pk), "next": "/"})
    assert "edc_site" not in client.session
    client.post(reverse("switch-site"), {"site": str(site_a.pk), "next": "/"})
    assert client.session["edc_site"] == site_a.pk


@pytest.mark.django_db
def test_timeline_shows_the_next_six_planned_visits_and_folds_the_rest(
    client, coordinator_a, site_a
):
    subject = make_subject(site_a, coordinator_a, initials="TLF")
    today = site_a.today()
    enrol(subject, by=coordinator_a, on_date=today, c1d1=today + dt.timedelta(days=3))
    client.force_login(coordinator_a)
    page = client.get(reverse("subjects:detail", args=[subject.pk])).content.decode()
    main, _, folded = page.partition('id="later-visits"')
    # By hand: SCR is due (registered 3 days ago) and so is C1D1 (day 3, window opens today:
    # day 3 - 3). The next six *upcoming* visits are C2D1 (day 24), C3D1 (45), TA1 (45),
    # C4D1 (66), C5D1 (87) and TA2 (87); C6D1 (day 108) is the first folded one.
    for code in ("SCR", "C1D1", "C2D1", "C3D1", "TA1", "C4D1", "C5D1", "TA2"):
        assert f'data-code="{code}"' in main
    assert 'data-code="C6D1"' in folded and 'data-code="C36D1"' in folded
    assert 'data-code="C6D1"' not in main
    # 1 screening + 36 cycles + 17 assessments = 54 visits; 8 shown, 46 folded.
    assert subject.visits.count() == 54
    assert "Show 46 later planned visits" in folded


@pytest.mark.django_db
def test_pages_speak_simplified_chinese_when_chosen(client, coordinator_a, subject_a):
    client.force_login(coordinator_a)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    page = client.get(reverse("subjects:detail", args=[subject_a.pk])).content.decode()
    assert 'lang="zh-hans"' in page
    assert "工作台" in page  # Dashboard
    assert "访视" in page  # visit


@pytest.mark.django_db
def test_dashboard_counts_enrolment_by_site_for_a_data_manager(
    client, data_manager, coordinator_a, coordinator_b, site_a, site_b
):
    make_subject(site_a, coordinator_a, initials="AAA")
    enrolled = make_subject(site_a, coordinator_a, initials="AAB")
    make_subject(site_b, coordinator_b, initials="BBA")
    today = site_a.today()
    enrol(enrolled, by=coordinator_a, on_date=today, c1d1=today + dt.timedelta(days=3))
    client.force_login(data_manager)
    page = client.get(reverse("home")).content.decode()
    rows = re.findall(
        r"<tr><td title=\"[^\"]*\">(\w+)</td>((?:<td class=\"text-end\">\d+</td>)+)", page
    )
    counts = {code: re.findall(r">(\d+)<", cells) for code, cells in rows}
    # screened, screen failed, enrolled, on treatment
    assert counts == {"GZ01": ["2", "0", "1", "0"], "SH02": ["1", "0", "0", "0"]}
    assert "1 of 48 planned subjects enrolled" in page


# --- corrections: the version of the optimistic lock ----------------------------------------


def correction_post(subject, **changes):
    data = {
        "version": subject.version,
        "reason": "Initials misread from the consent form",
        "sex": subject.sex,
        "date_of_birth": iso(subject.date_of_birth),
        "year_of_birth": subject.year_of_birth or "",
        "initials": "ZWM",
        "consent_date": iso(subject.consent_date),
        "consent_version": subject.consent_version,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize(
    ("version", "code", "words"),
    [
        (None, "version_missing", "sent without the version of the record"),
        ("", "version_missing", "sent without the version of the record"),
        ("abc", "version_invalid", "not a version number"),
        ("\x00", "version_invalid", "not a version number"),
        ("-1", "version_invalid", "not a version number"),
    ],
    ids=["absent", "blank", "text", "nul", "negative"],
)
def test_a_correction_without_a_usable_version_says_why_and_saves_nothing(
    version, code, words, coordinator_client, subject_a
):
    """Issue 10.11: a missing or tampered version re-rendered the form without a word."""
    before = counts()

    response = coordinator_client.post(
        reverse("subjects:edit", args=[subject_a.pk]), correction_post(subject_a, version=version)
    )

    assert response.status_code == 422  # the form again, refused
    errors = response.context["form"].non_field_errors().as_data()
    assert [e.code for e in errors] == [code]
    html = unescape(response.content.decode())
    assert words in html
    assert html.count("Reload the page and make your change again.") == 1  # said once, on top
    assert counts() == before
    assert Subject.objects.get(pk=subject_a.pk).initials == subject_a.initials


def test_a_correction_with_a_stale_version_gets_the_conflict_page(coordinator_client, subject_a):
    response = coordinator_client.post(
        reverse("subjects:edit", args=[subject_a.pk]),
        correction_post(subject_a, version=subject_a.version + 5),
    )
    assert response.status_code == 409
    assert Subject.objects.get(pk=subject_a.pk).initials == subject_a.initials


def test_a_correction_with_the_version_shown_is_saved(coordinator_client, subject_a):
    response = coordinator_client.post(
        reverse("subjects:edit", args=[subject_a.pk]), correction_post(subject_a)
    )
    assert response.status_code == 302
    assert Subject.objects.get(pk=subject_a.pk).initials == "ZWM"


@pytest.mark.parametrize(
    ("version", "shown"), [("2.1", "(v2.1)"), ("v2.1", "(v2.1)"), ("V3", "(V3)")]
)
def test_the_consent_version_is_shown_with_one_v(coordinator_client, subject_a, version, shown):
    Subject.objects.filter(pk=subject_a.pk).update(consent_version=version)

    page = coordinator_client.get(reverse("subjects:detail", args=[subject_a.pk])).content.decode()

    assert shown in page
    assert "(vv" not in page.lower()


def test_the_status_change_form_preselects_nothing_and_requires_a_choice(
    coordinator_client, subject_a
):
    page = coordinator_client.get(reverse("subjects:detail", args=[subject_a.pk])).content.decode()
    select = re.search(r'<select name="target".*?</select>', page, re.S).group(0)
    options = re.findall(r'<option value="([^"]*)"( selected)?', select)
    assert options[0][0] == ""  # the blank "choose" option comes first
    assert all(not sel for _, sel in options[1:])

    response = coordinator_client.post(
        reverse("subjects:transition", args=[subject_a.pk]),
        {"version": subject_a.version, "target": "", "on_date": iso(subject_a.site.today())},
    )

    assert response.status_code == 422
    assert [e.code for e in response.context["form"].errors.as_data()["target"]] == ["required"]
    subject_a.refresh_from_db()
    assert subject_a.status == "screening"
