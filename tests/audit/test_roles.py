"""The application's database role can read and append the audit trail, never rewrite it.

The app connects, then ``SET ROLE alter_app``; that role may SELECT and INSERT audit rows
but not UPDATE, DELETE or TRUNCATE them, and it cannot drop or switch off the triggers
that write the trail.
"""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.db import ProgrammingError, connection, transaction

from audit.db_roles import current_role, owner_mode
from audit.models import AuditEvent
from subjects.models import Subject

pytestmark = pytest.mark.django_db

APP_ROLE = settings.DB_APP_ROLE


def scalar(sql: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def privileges(table: str) -> dict[str, bool]:
    kinds = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    return {
        kind: scalar("SELECT has_table_privilege(%s, %s, %s)", [APP_ROLE, table, kind])
        for kind in kinds
    }


def refused(sql: str) -> psycopg.Error:
    """Run ``sql`` as the app role and return the database's refusal."""
    with (
        pytest.raises(ProgrammingError) as caught,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    return caught.value.__cause__


def audit_snapshot() -> list[tuple]:
    return list(AuditEvent.objects.order_by("chain_seq").values_list("chain_seq", "reason"))


def test_the_app_runs_as_the_app_role_not_as_the_owner(db):
    assert scalar("SELECT current_user") == APP_ROLE == "alter_app"
    assert current_role() == APP_ROLE
    assert scalar("SELECT session_user") != APP_ROLE


def test_owner_mode_is_left_for_the_app_role_again(db):
    with owner_mode():
        assert current_role() == scalar("SELECT session_user")
    assert current_role() == APP_ROLE


def test_grants_let_the_app_role_read_and_append_the_trail_but_not_change_it(db):
    assert privileges("audit_auditevent") == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": False,
        "DELETE": False,
        "TRUNCATE": False,
        "REFERENCES": False,
        "TRIGGER": False,
    }


def test_grants_let_the_app_role_edit_clinical_tables_but_not_truncate_them(db):
    assert privileges("subjects_subject") == {
        "SELECT": True,
        "INSERT": True,
        "UPDATE": True,
        "DELETE": True,
        "TRUNCATE": False,
        "REFERENCES": False,
        "TRIGGER": False,
    }


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditevent SET reason = 'rewritten'",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
    ids=["update", "delete", "truncate"],
)
def test_app_role_cannot_rewrite_or_erase_audit_rows(subject_a, sql):
    before = audit_snapshot()
    assert before, "the registration left audit rows to protect"

    error = refused(sql)

    assert isinstance(error, psycopg.errors.InsufficientPrivilege)
    assert "audit_auditevent" in str(error)
    assert audit_snapshot() == before


def test_app_role_can_insert_and_read_audit_rows(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO audit_auditevent (chain_seq, occurred_at, table_name, record_pk, action,"
            " app_username, reason, context, db_user, prev_hash, row_hash)"
            " VALUES (0, now(), '', '', 'WORKFLOW', 'coord_a', 'export', 'web', '', '', '')"
            " RETURNING chain_seq, db_user"
        )
        seq, db_user = cursor.fetchone()

    assert db_user == APP_ROLE
    assert AuditEvent.objects.filter(chain_seq=seq, reason="export").exists()


@pytest.mark.parametrize("action", ["INSERT", "UPDATE", "DELETE"])
def test_app_role_cannot_forge_a_data_change_row(subject_a, action):
    before = audit_snapshot()

    error = refused(
        "INSERT INTO audit_auditevent (chain_seq, occurred_at, table_name, record_pk, action,"
        " old_data, new_data, app_username, reason, context, db_user, prev_hash, row_hash)"
        f" VALUES (0, now(), 'subjects_subject', '{subject_a.pk}', '{action}',"
        """ '{"initials": "ZWL"}', '{"initials": "ABC"}', 'inv_a', 'Per investigator',"""
        " 'web', '', '', '')"
    )

    assert isinstance(error, psycopg.errors.InsufficientPrivilege)
    assert "only by the audit_row trigger" in str(error)
    assert audit_snapshot() == before


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TRIGGER audit_row ON subjects_subject",
        "ALTER TABLE subjects_subject DISABLE TRIGGER audit_row",
        "ALTER TABLE subjects_subject DISABLE TRIGGER ALL",
        "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_chain",
        "DROP FUNCTION audit_record_change() CASCADE",
        "CREATE OR REPLACE FUNCTION audit_record_change() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
        "SET session_replication_role = replica",  # would skip every trigger
    ],
    ids=[
        "drop-trigger",
        "disable-trigger",
        "disable-all-triggers",
        "disable-chain-trigger",
        "drop-function",
        "replace-function",
        "replication-role",
    ],
)
def test_app_role_cannot_switch_off_the_audit_triggers(subject_a, sql):
    error = refused(sql)

    assert isinstance(error, psycopg.errors.InsufficientPrivilege)
    Subject.objects.filter(pk=subject_a.pk).update(initials="ZWM")
    assert AuditEvent.objects.filter(
        table_name="subjects_subject", record_pk=str(subject_a.pk), action="UPDATE"
    ).exists(), "the trigger still records changes"
