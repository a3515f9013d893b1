"""The application's own database login, and the check that it is harmless.

The app connects with a LOGIN role that may read and write clinical tables and append to
the audit trail, and nothing more: not a superuser, not able to create roles or databases,
not a member of the role that owns the tables (it could ``SET ROLE`` to it and drop the
triggers). The owner (``DATABASE_OWNER_URL``) is used only by ``migrate``, ``flush`` and
the set-up in ``./run``. Plain psycopg cursors only: the settings module calls this for
the embedded server before Django is set up.
"""

from __future__ import annotations

from psycopg import sql

LOGIN_ATTRIBUTES = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


def ensure_app_login(cursor, role: str, password: str = "") -> None:
    """Create the app's login role if missing (as the owner); give it LOGIN if it lacks it.

    A role created by an earlier version as NOLOGIN (the app used ``SET ROLE``) becomes a
    login. The password is set only when one is given and the owner may set it.
    """
    cursor.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", [role])
    row = cursor.fetchone()
    ident = sql.Identifier(role)
    if row is None:
        cursor.execute(sql.SQL("CREATE ROLE {} " + LOGIN_ATTRIBUTES).format(ident))
    elif not row[0]:
        cursor.execute(sql.SQL("ALTER ROLE {} LOGIN").format(ident))
    if password:
        cursor.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(ident, sql.Literal(password)))


# One row: what the session's login could do beyond reading and writing data.
PRIVILEGE_SQL = """
SELECT r.rolname, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication,
       r.rolbypassrls,
       EXISTS (SELECT 1 FROM pg_roles s
                WHERE s.rolsuper AND s.oid <> r.oid AND pg_has_role(r.oid, s.oid, 'MEMBER')),
       coalesce((SELECT pg_has_role(r.oid, c.relowner, 'MEMBER') FROM pg_class c
                  WHERE c.relname = 'audit_auditevent' AND c.relkind = 'r'
                  LIMIT 1), false)
  FROM pg_roles r WHERE r.rolname = session_user
"""


def login_problems(cursor) -> list[str]:
    """What makes the session's login unfit to run the app (empty when it is fit)."""
    cursor.execute(PRIVILEGE_SQL)
    name, superuser, createrole, createdb, replication, bypassrls, super_member, owner = (
        cursor.fetchone()
    )
    problems = []
    if superuser:
        problems.append(f"{name} is a superuser")
    if super_member:
        problems.append(f"{name} can SET ROLE to a superuser")
    if owner:
        problems.append(f"{name} owns the audit trail or can SET ROLE to its owner")
    if createrole:
        problems.append(f"{name} may create roles")
    if createdb:
        problems.append(f"{name} may create databases")
    if replication:
        problems.append(f"{name} is a replication role")
    if bypassrls:
        problems.append(f"{name} bypasses row-level security")
    return problems
