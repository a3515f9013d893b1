"""On the embedded PostgreSQL too, the app logs in as its restricted role, not as postgres.

Without a DATABASE_URL the settings start the wheel's PostgreSQL under ``var/`` and set
it up like a deployment: the owner ``postgres`` and the app's own login ``alter_app``
(``alter_s006.embedded_db``). This starts such a server in a temporary folder and makes
the same escalation attempts as ``test_roles`` over a connection made from the settings
``ensure_embedded_database`` returns.
"""

from __future__ import annotations

import psycopg
import pytest
from django.db import ProgrammingError, connections

from alter_s006.embedded_db import ensure_embedded_database, start_server
from audit.db_roles import UnsafeDatabaseLogin


@pytest.fixture(scope="module")
def embedded(tmp_path_factory, django_db_blocker):
    """A private embedded server set up as the settings would (not the test database)."""
    var = tmp_path_factory.mktemp("embedded-var")
    server = start_server(var / "pgdata")
    try:
        app, owner = ensure_embedded_database(var, "alter_app")
        with django_db_blocker.unblock():
            yield app, owner
    finally:
        server.cleanup()


def wrapper_for(settings_dict: dict):
    template = connections["default"]
    return template.__class__({**template.settings_dict, **settings_dict}, "default")


def owner_run(app: dict, owner: dict, sql: str) -> None:
    with psycopg.connect(
        host=owner["HOST"], port=owner["PORT"] or None, user=owner["USER"], dbname=app["NAME"]
    ) as conn:
        conn.autocommit = True
        conn.execute(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "SET ROLE postgres",
        "SET session_replication_role = replica",
        "ALTER TABLE probe DISABLE TRIGGER ALL",
        "SELECT pg_read_file('PG_VERSION')",
    ],
    ids=["set-role-postgres", "replication-role", "disable-trigger", "pg-read-file"],
)
def test_the_embedded_app_login_cannot_become_a_superuser(embedded, sql):
    app, owner = embedded
    owner_run(app, owner, "CREATE TABLE IF NOT EXISTS probe (id int)")
    conn = wrapper_for(app)
    try:
        with conn.cursor() as cursor:
            cursor.execute("RESET ROLE")
            cursor.execute(
                "SELECT session_user, current_user,"
                " (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
            )
            assert cursor.fetchone() == ("alter_app", "alter_app", False)
            with pytest.raises(ProgrammingError) as caught:
                cursor.execute(sql)
        assert isinstance(caught.value.__cause__, psycopg.errors.InsufficientPrivilege)
    finally:
        conn.close()


def test_the_embedded_owner_login_would_be_refused_as_the_app_login(embedded):
    app, owner = embedded
    conn = wrapper_for({**app, **owner})
    try:
        with pytest.raises(UnsafeDatabaseLogin, match="postgres is a superuser"):
            conn.ensure_connection()
    finally:
        conn.close()
