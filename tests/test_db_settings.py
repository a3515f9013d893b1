"""Database connection settings (issue 12): persistent connections, health checks, no leaks.

Connections are kept for ``CONN_MAX_AGE`` seconds (environment, strict, default 60) and
checked before reuse (``CONN_HEALTH_CHECKS``), for the app's login and the owner's. The
audit actor lives in the PostgreSQL session, so a kept connection must not carry one
request's user into the next: ``AuditUserMiddleware`` clears it after every request.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.urls import path

from accounts.models import Role, Site
from audit.db_roles import owner_connection
from audit.models import AuditEvent
from tests.factories import member

SHOW = (
    "import django, json; django.setup(); from django.conf import settings; "
    "d = settings.DATABASES['default']; "
    "print(json.dumps([d['CONN_MAX_AGE'], d['CONN_HEALTH_CHECKS'], settings.CONN_MAX_AGE]))"
)


def _settings_with(value: str | None) -> subprocess.CompletedProcess:
    """Start the settings module in a fresh interpreter, as the web process would."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "alter_s006.settings_test"}
    env.pop("CONN_MAX_AGE", None)
    if value is not None:
        env["CONN_MAX_AGE"] = value
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", SHOW],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, 60), ("", 60), ("0", 0), ("300", 300), (" 120 ", 120)],
)
def test_conn_max_age_comes_from_the_environment_with_health_checks_on(raw, expected):
    done = _settings_with(raw)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [expected, True, expected]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("sixty", "CONN_MAX_AGE='sixty' is not a whole number"),
        ("1.5", "is not a whole number"),
        ("-1", "CONN_MAX_AGE=-1 is outside 0..86400"),
        ("86401", "is outside 0..86400"),
    ],
)
def test_a_bad_conn_max_age_stops_the_process_naming_the_variable(raw, message):
    done = _settings_with(raw)
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert message in done.stderr


@pytest.mark.django_db
def test_app_and_owner_connections_are_health_checked():
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    assert connection.settings_dict["CONN_MAX_AGE"] == settings.CONN_MAX_AGE
    with owner_connection() as owner:
        assert owner.settings_dict["CONN_HEALTH_CHECKS"] is True
        assert owner.settings_dict["CONN_MAX_AGE"] == settings.CONN_MAX_AGE
        with owner.cursor() as cursor:
            cursor.execute("SELECT current_user")
            assert cursor.fetchone()[0] == settings.DATABASE_OWNER["USER"]
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True


# --- the audit actor on a reused connection ------------------------------------------------


def _insert_site(request, code):
    """One audited INSERT, with no actor set by the view: whatever the session holds."""
    Site.objects.create(code=code, name=f"Leak check {code}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    return JsonResponse({"pid": pid})


urlpatterns = [path("leak/<str:code>/", _insert_site)]


def _recorded(code: str) -> tuple[int | None, str]:
    site = Site.objects.get(code=code)
    event = AuditEvent.objects.get(table_name="accounts_site", record_pk=str(site.pk))
    return event.app_user_id, event.app_username


@pytest.mark.urls("tests.test_db_settings")
@pytest.mark.django_db(transaction=True)
def test_consecutive_requests_on_one_connection_are_recorded_with_their_own_user(client):
    first = member("leak_first", Role.DATA_MANAGER, None)
    second = member("leak_second", Role.DATA_MANAGER, None)

    client.force_login(first)
    pid_1 = client.get("/leak/LKA/").json()["pid"]
    client.force_login(second)
    pid_2 = client.get("/leak/LKB/").json()["pid"]
    client.logout()
    pid_3 = client.get("/leak/LKC/").json()["pid"]

    # one kept connection served the three requests (the case where a user could leak)
    assert pid_1 == pid_2 == pid_3
    assert _recorded("LKA") == (first.pk, "leak_first")
    assert _recorded("LKB") == (second.pk, "leak_second")
    assert _recorded("LKC") == (None, ""), "a request with no user records none"
    # and the session holds no actor once the request has left
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting('alter.user_id', true), ''), "
            "coalesce(current_setting('alter.username', true), '')"
        )
        assert cursor.fetchone() == ("", "")


@pytest.mark.django_db(transaction=True)
def test_an_api_request_leaves_no_actor_on_the_kept_connection(client):
    """The API names its user after authentication (bearer token); the middleware clears it."""
    from accounts.models import ApiToken

    user = member("leak_api", Role.DATA_MANAGER, None)
    token = ApiToken.issue(user)[1]
    response = client.get("/api/v1/sites", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(current_setting('alter.user_id', true), ''), "
            "coalesce(current_setting('alter.username', true), ''), "
            "coalesce(current_setting('alter.context', true), '')"
        )
        assert cursor.fetchone() == ("", "", "")
