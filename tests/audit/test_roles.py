"""The application's database login can read and append the audit trail, never rewrite it.

The app connects with its own LOGIN role (``DATABASE_URL``), which is the restricted role
itself: not a superuser, not a member of the owner, so ``RESET ROLE`` leaves it where it
is. It may SELECT and INSERT audit rows but not UPDATE, DELETE or TRUNCATE them, and it
cannot drop or switch off the triggers that write the trail. The owner's login
(``DATABASE_OWNER_URL``) is used by ``migrate`` and ``flush`` only. A connection made with
a login that could do more is refused before anything runs on it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from django.conf import settings
from django.db import ProgrammingError, connection, connections, transaction

from audit.backup import owner_connect
from audit.db_roles import UnsafeDatabaseLogin, current_role, owner_connection
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


def test_the_app_logs_in_as_the_app_role_itself_not_as_a_superuser(db):
    assert scalar("SELECT session_user") == scalar("SELECT current_user") == APP_ROLE
    assert APP_ROLE == "alter_app"
    assert current_role() == APP_ROLE
    assert scalar("SELECT rolsuper FROM pg_roles WHERE rolname = session_user") is False


def test_reset_role_leaves_the_app_login_where_it_is(db):
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute(
            "SELECT current_user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
        )
        assert cursor.fetchone() == (APP_ROLE, False)


@pytest.mark.parametrize(
    "sql",
    [
        "SET ROLE postgres",
        "SET SESSION AUTHORIZATION postgres",
        "SET session_replication_role = replica",
        "ALTER TABLE audit_auditevent DISABLE TRIGGER audit_chain",
        "SELECT pg_read_file('/etc/passwd')",
        "COPY subjects_subject TO '/tmp/alter-s006-leak.csv'",
        "CREATE ROLE alter_escape SUPERUSER",
        "ALTER ROLE alter_app SUPERUSER",
    ],
    ids=[
        "set-role-postgres",
        "session-authorization",
        "replication-role",
        "disable-trigger",
        "pg-read-file",
        "copy-to-file",
        "create-role",
        "alter-own-role",
    ],
)
def test_the_app_login_cannot_become_or_act_as_a_superuser(db, sql):
    error = refused(sql)

    assert isinstance(error, psycopg.errors.InsufficientPrivilege)
    assert scalar("SELECT current_user") == APP_ROLE


def test_owner_connection_is_the_owner_login_and_the_app_login_returns_after_it(db):
    with owner_connection() as owner, owner.cursor() as cursor:
        cursor.execute("SELECT session_user")
        assert cursor.fetchone()[0] == settings.DATABASE_OWNER["USER"] != APP_ROLE
    assert scalar("SELECT session_user") == APP_ROLE


def _connect_as(**login):
    """A new app connection (the same code path as the app's) with another login."""
    app = connections["default"]
    wrapper = app.__class__({**app.settings_dict, **login}, "default")
    try:
        wrapper.ensure_connection()
    finally:
        wrapper.close()


def test_a_superuser_login_is_refused_before_anything_runs(db):
    with pytest.raises(UnsafeDatabaseLogin, match="is a superuser"):
        _connect_as(**settings.DATABASE_OWNER)


@pytest.fixture
def owner_cursor():
    with owner_connect(connection.settings_dict["NAME"]) as conn:
        yield conn.cursor()


@pytest.mark.parametrize(
    ("grant", "problems"),
    [
        # the tables' owner here is the superuser itself: membership gives both
        ("GRANT postgres TO {role}", ["can SET ROLE to a superuser", "can SET ROLE to its owner"]),
        ("ALTER ROLE {role} CREATEROLE", ["may create roles"]),
        ("ALTER ROLE {role} CREATEDB", ["may create databases"]),
    ],
    ids=["owner-member", "createrole", "createdb"],
)
def test_a_login_that_could_become_more_than_the_app_role_is_refused(
    db, owner_cursor, grant, problems
):
    role = f"alter_probe_{uuid.uuid4().hex[:8]}"
    owner_cursor.execute(f'CREATE ROLE "{role}" LOGIN')
    try:
        owner_cursor.execute(grant.format(role=f'"{role}"'))
        with pytest.raises(UnsafeDatabaseLogin) as caught:
            _connect_as(USER=role, PASSWORD="")
        for problem in problems:
            assert problem in str(caught.value)
    finally:
        owner_cursor.execute(f'DROP ROLE "{role}"')


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


def _superuser_url() -> str:
    owner = settings.DATABASE_OWNER
    host = owner["HOST"] or "127.0.0.1"
    name = connection.settings_dict["NAME"]
    if host.startswith("/"):
        return f"postgres://{owner['USER']}@/{name}?host={host}"
    return f"postgres://{owner['USER']}@{host}:{owner['PORT'] or 5432}/{name}"


@pytest.mark.parametrize(
    "command",
    [
        [sys.executable, "-c", "import alter_s006.wsgi"],
        [
            sys.executable, "-m", "celery", "-A", "alter_s006", "worker", "--pool=solo",
            "-Q", "refused-before-start", "--without-heartbeat", "--without-gossip",
            "--without-mingle",
        ],
    ],
    ids=["web", "worker"],
)  # fmt: skip
def test_web_and_worker_refuse_to_start_on_a_superuser_login(db, command):
    env = {
        **os.environ,
        "DATABASE_URL": _superuser_url(),
        "DJANGO_SETTINGS_MODULE": "alter_s006.settings_test",
    }
    done = subprocess.run(  # noqa: S603
        command, env=env, capture_output=True, text=True, timeout=60, check=False
    )

    assert done.returncode != 0
    assert "Refusing to run: the application's database login is not restricted" in (
        done.stdout + done.stderr
    )
    assert "is a superuser" in done.stdout + done.stderr
