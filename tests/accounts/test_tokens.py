"""``manage.py issue_api_token``: a personal API token, shown once, stored only as SHA-256."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import ApiToken
from audit.models import AuditEvent


def issue(username: str) -> str:
    out = StringIO()
    call_command("issue_api_token", username, stdout=out)
    return out.getvalue().strip()


def test_printed_token_authenticates_against_the_api(client, coordinator_a, site_a):
    key = issue("coord_a")
    response = client.get("/api/v1/sites", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    assert [s["code"] for s in response.json()] == ["GZ01"]


def test_each_call_issues_a_new_working_token(client, coordinator_a):
    first, second = issue("coord_a"), issue("coord_a")
    assert first != second
    for key in (first, second):
        response = client.get("/api/v1/sites", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200


def test_unknown_user_is_a_command_error(db):
    with pytest.raises(CommandError, match="No active user named 'nobody'"):
        issue("nobody")
    assert not ApiToken.objects.exists()


def test_deactivated_user_gets_no_token(coordinator_a):
    coordinator_a.is_active = False
    coordinator_a.save()
    with pytest.raises(CommandError):
        issue("coord_a")
    assert not ApiToken.objects.exists()


def test_only_the_sha256_of_the_token_is_stored(coordinator_a):
    key = issue("coord_a")
    token = ApiToken.objects.get(user=coordinator_a)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8]
    # The full token appears in no row of any table (tokens, audit trail, anything else).
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(
                f"SELECT count(*) FROM {connection.ops.quote_name(table)} AS r "  # noqa: S608
                "WHERE r::text LIKE %s",
                [f"%{key}%"],
            )
            assert cursor.fetchone()[0] == 0, f"the API token is stored in {table}"


def test_issuing_a_token_is_in_the_audit_trail_by_prefix_only(coordinator_a):
    key = issue("coord_a")
    token = ApiToken.objects.get(user=coordinator_a)
    event = AuditEvent.objects.get(table_name="accounts_apitoken", action="WORKFLOW")
    assert (event.app_username, event.record_pk, event.context) == ("coord_a", str(token.pk), "cli")
    assert event.new_data == {"event": "api token issued", "prefix": key[:8]}
