"""Signing in through the real login page: lockout (django-axes), idle timeout, passwords."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.middleware import SESSION_KEY
from audit.models import AuditEvent
from tests.factories import PASSWORD

WRONG = "not-the-password-1"
BAD_CREDENTIALS = "Please enter a correct username and password."
LOCKED = "Too many failed sign-in attempts. The account is locked"
IDLE = "You were signed out after 15 minutes without activity."
START = dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC)


def sign_in(client, password, username="coord_a"):
    return client.post(reverse("login"), {"username": username, "password": password})


def is_signed_in(client) -> bool:
    response = client.get(reverse("home"))
    return response.status_code == 200


# --- lockout after 5 failed passwords ------------------------------------------------------


def test_the_settings_lock_after_five_failures_and_time_out_after_fifteen_minutes():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.SESSION_IDLE_MINUTES == 15


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, coordinator_a):
    for attempt in range(1, 5):
        response = sign_in(client, WRONG)
        assert response.status_code == 200, attempt
        assert BAD_CREDENTIALS in response.content.decode()
    response = sign_in(client, WRONG)  # the 5th failure reaches the limit
    assert response.status_code == 429

    response = sign_in(client, PASSWORD)  # 6th attempt, right password

    assert response.status_code == 429
    assert "registration/locked_out.html" in [t.name for t in response.templates]
    assert LOCKED in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert not is_signed_in(client)
    assert AuditEvent.objects.filter(action="LOGIN_FAILED", app_username="coord_a").count() >= 5
    assert not AuditEvent.objects.filter(action="LOGIN", app_user_id=coordinator_a.pk).exists()


def test_four_wrong_passwords_then_the_right_one_signs_in(client, coordinator_a):
    for _ in range(4):
        assert sign_in(client, WRONG).status_code == 200

    response = sign_in(client, PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session["_auth_user_id"] == str(coordinator_a.pk)
    assert is_signed_in(client)


def test_a_successful_sign_in_resets_the_failure_count(client, coordinator_a):
    for _ in range(4):
        sign_in(client, WRONG)
    assert sign_in(client, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    for _ in range(4):
        assert sign_in(client, WRONG).status_code == 200

    assert sign_in(client, PASSWORD).status_code == 302


def test_the_lockout_is_per_account_not_per_address(client, coordinator_a, investigator_a):
    for _ in range(5):
        sign_in(client, WRONG)
    assert sign_in(client, PASSWORD, username="inv_a").status_code == 302


# --- idle timeout --------------------------------------------------------------------------


def test_a_session_idle_longer_than_the_limit_ends_at_the_login_page_with_a_message(
    client, coordinator_a
):
    with time_machine.travel(START, tick=False) as clock:
        assert sign_in(client, PASSWORD).status_code == 302
        assert client.get(reverse("home")).status_code == 200
        clock.shift(dt.timedelta(minutes=15, seconds=1))

        response = client.get(reverse("subjects:list"))

        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next=/subjects/"
        login_page = client.get(response["Location"])
        assert login_page.status_code == 200
        assert IDLE in login_page.content.decode()
        assert not is_signed_in(client)


def test_activity_within_the_limit_keeps_the_session(client, coordinator_a):
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, PASSWORD)
        for _ in range(3):  # 3 x 14 minutes: each request renews the 15-minute window
            clock.shift(dt.timedelta(minutes=14))
            response = client.get(reverse("home"))
            assert response.status_code == 200
            assert IDLE not in response.content.decode()


def test_a_stale_last_activity_in_a_live_session_signs_the_user_out(client, coordinator_a):
    sign_in(client, PASSWORD)
    client.get(reverse("home"))
    session = client.session
    session[SESSION_KEY] -= 15 * 60 + 1  # last request 15 min 1 s ago, session row still valid
    session.save()

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"
    assert IDLE in client.get(response["Location"]).content.decode()
    assert not is_signed_in(client)
    logout = AuditEvent.objects.filter(action="LOGOUT", app_user_id=coordinator_a.pk)
    assert logout.count() == 1


def test_signing_out_yourself_shows_no_idle_message(client, coordinator_a):
    sign_in(client, PASSWORD)
    response = client.post(reverse("logout"), follow=True)
    assert response.status_code == 200
    assert IDLE not in response.content.decode()
    assert IDLE not in client.get(reverse("home"), follow=True).content.decode()


# --- password rules ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Sarcoma-9", "This password is too short. It must contain at least 12 characters."),
        ("password1234", "This password is too common."),
        ("qwertyuiop123", "This password is too common."),
        ("204861739520", "This password is entirely numeric."),
    ],
)
def test_weak_passwords_are_rejected(password, message):
    with pytest.raises(ValidationError) as rejected:
        validate_password(password)
    assert message in rejected.value.messages


def test_a_password_like_the_username_is_rejected(coordinator_a):
    with pytest.raises(ValidationError) as rejected:
        validate_password("coord_a_2026", user=coordinator_a)
    assert "The password is too similar to the username." in rejected.value.messages


def test_a_long_uncommon_password_is_accepted(coordinator_a):
    assert validate_password(PASSWORD, user=coordinator_a) is None


def test_the_login_page_states_the_lockout_and_idle_limits_from_settings(client, db):
    page = client.get(reverse("login")).content.decode()

    assert f"After {settings.AXES_FAILURE_LIMIT} failed attempts the account is locked." in page
    assert f"Sessions end after {settings.SESSION_IDLE_MINUTES} minutes" in page


def test_a_page_view_writes_the_session_at_most_every_30_seconds(client, coordinator_a):
    """Issue 12: every page view wrote its session row (an UPDATE and a commit); the last
    activity is now recorded at most every ACTIVITY_RESOLUTION_SECONDS."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.middleware import ACTIVITY_RESOLUTION_SECONDS

    assert ACTIVITY_RESOLUTION_SECONDS == 30

    def session_writes() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("home")).status_code == 200
        return sum('UPDATE "django_session"' in q["sql"] for q in ctx.captured_queries)

    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, PASSWORD)  # signing in records the activity
        assert session_writes() == 0
        clock.shift(dt.timedelta(seconds=29))
        assert session_writes() == 0  # 29 s after the last recorded activity: nothing written
        clock.shift(dt.timedelta(seconds=1))
        assert session_writes() == 1  # 30 s: recorded
        last = client.session[SESSION_KEY]
        clock.shift(dt.timedelta(seconds=10))
        assert session_writes() == 0
        assert client.session[SESSION_KEY] == last
