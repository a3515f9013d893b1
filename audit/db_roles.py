"""Run the application as a database role that cannot rewrite the audit trail.

Two roles: the owner (who migrates, owns the tables, triggers and functions) and
``settings.DB_APP_ROLE``, which the app assumes with ``SET ROLE`` on each new
connection. The app role may SELECT and INSERT audit rows, never UPDATE, DELETE or
TRUNCATE them, and cannot alter or drop the triggers it does not own. ``migrate``
and ``flush`` (the owner's commands) run with ``owner_mode()``.
"""

from __future__ import annotations

import contextlib
import threading

from django.conf import settings
from django.db import connection

_state = threading.local()


def _owner_mode_on() -> bool:
    return getattr(_state, "owner", 0) > 0


def _role_exists(cursor, role: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
    return cursor.fetchone() is not None


def assume_app_role(sender, connection, **kwargs) -> None:
    """On a new connection to the study database, drop to the application role."""
    if _owner_mode_on() or connection.alias != "default":
        return
    if connection.settings_dict["NAME"] in ("postgres", "template1"):
        return  # the test runner's maintenance connection creates databases
    role = settings.DB_APP_ROLE
    with connection.cursor() as cursor:
        if _role_exists(cursor, role):
            cursor.execute(f'SET ROLE "{role}"')


@contextlib.contextmanager
def owner_mode():
    """Run the block as the connecting (owner) role, then return to the app role."""
    _state.owner = getattr(_state, "owner", 0) + 1
    try:
        if connection.connection is not None:
            with connection.cursor() as cursor:
                cursor.execute("RESET ROLE")
        yield
    finally:
        _state.owner -= 1
        if not _owner_mode_on() and connection.connection is not None:
            assume_app_role(None, connection)


def current_role() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return cursor.fetchone()[0]
