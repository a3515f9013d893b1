"""The demo study is built through the real services and can be run twice; it refuses to
give accounts the published demo password unless DEBUG is on (issue 10.3)."""

import re
from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import RequestFactory

from accounts.checks import check_demo_passwords
from accounts.demo import DEMO_PASSWORD, has_demo_password
from assessments.services import best_response
from subjects.models import Subject

LOGINS = 8  # coordinator, investigator, monitor per site (2); a monitor; the data manager


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings):
    """Before the fix it ran in production mode, leaving ``datamanager`` (a superuser) with
    the README's password."""
    settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        call_command("seed_demo", stdout=StringIO())

    assert not get_user_model().objects.exists()
    assert not Subject.objects.exists()


@pytest.mark.django_db
def test_seed_demo_with_random_passwords_prints_each_once_and_none_is_the_demo_one(settings):
    settings.DEBUG = False
    out = StringIO()

    call_command("seed_demo", "--random-passwords", stdout=out)

    printed = dict(re.findall(r"^  (\S+) .*? (\S{24})$", out.getvalue(), re.M))
    users = get_user_model().objects.all()
    assert set(printed) == {u.username for u in users} and len(printed) == LOGINS
    assert len(set(printed.values())) == LOGINS  # one password per account
    assert DEMO_PASSWORD not in out.getvalue()
    assert not any(has_demo_password(u) for u in users)
    request = RequestFactory().post("/")
    assert authenticate(request, username="datamanager", password=printed["datamanager"])
    assert check_demo_passwords(databases=["default"]) == []
    # the investigators e-signed with their new passwords: the study is complete
    assert Subject.objects.filter(status="on_treatment").exists()

    again = StringIO()
    call_command("seed_demo", "--random-passwords", stdout=again)
    assert again.getvalue().count("(password unchanged)") == LOGINS  # shown once only
    assert not any(p in again.getvalue() for p in printed.values())


@pytest.mark.django_db
def test_random_passwords_replace_the_demo_password_left_by_an_earlier_seed(settings):
    settings.DEBUG = True
    call_command("seed_demo", stdout=StringIO())
    settings.DEBUG = False
    assert [e.id for e in check_demo_passwords(databases=["default"])] == ["accounts.E001"]

    out = StringIO()
    call_command("seed_demo", "--random-passwords", stdout=out)

    assert "(password unchanged)" not in out.getvalue()
    assert not any(has_demo_password(u) for u in get_user_model().objects.all())
    assert check_demo_passwords(databases=["default"]) == []


@pytest.mark.django_db
def test_seed_demo_builds_the_study_once(settings):
    settings.DEBUG = True
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
