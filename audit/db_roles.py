"""Run the application on a database login that cannot rewrite the audit trail.

Two logins: the owner (``settings.DATABASE_OWNER``, from ``DATABASE_OWNER_URL``), who
migrates and owns the tables, triggers and functions, and the application's own login
(``DATABASE_URL``, ``settings.DB_APP_ROLE``). The app login may SELECT and INSERT audit
rows, never UPDATE, DELETE or TRUNCATE them, cannot alter or drop the triggers, and —
since it *is* the restricted role rather than a superuser that ``SET ROLE``'d to it —
``RESET ROLE`` leaves it where it is. Every new app connection is checked
(``login_role.login_problems``): a superuser login, or one that could become the owner,
is refused before any request is served.

``migrate`` and ``flush`` (the owner's commands) run inside ``owner_connection()``, which
gives this thread a separate connection made with the owner's credentials.
"""

from __future__ import annotations

import contextlib
import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, connections

from audit.login_role import login_problems

log = logging.getLogger(__name__)

OWNER_FLAG = "ALTER_OWNER_CONNECTION"  # marks the settings of an owner connection


class UnsafeDatabaseLogin(ImproperlyConfigured):
    """The app was configured to connect with a login that could rewrite the trail."""


def is_owner_connection(conn) -> bool:
    return bool(conn.settings_dict.get(OWNER_FLAG))


def check_app_login(sender, connection, **kwargs) -> None:
    """On every new app connection: refuse a login that is more than the app role."""
    if is_owner_connection(connection) or connection.vendor != "postgresql":
        return
    if connection.settings_dict["NAME"] in ("postgres", "template1"):
        return  # the test runner's maintenance connection
    with connection.cursor() as cursor:
        problems = login_problems(cursor)
    if problems:
        connection.close()
        raise UnsafeDatabaseLogin(
            "Refusing to run: the application's database login is not restricted ("
            + "; ".join(problems)
            + "). Set DATABASE_URL to the app's own login role and DATABASE_OWNER_URL to "
            "the owner used by migrate (README, Configuration)."
        )


def verify_app_login_at_startup() -> None:
    """Connect once at process start (web, worker) so an unsafe login stops the process.

    A database that is down is not a reason to refuse to start (the app answers 503
    until it is back); an unsafe login is.
    """
    try:
        connection.ensure_connection()  # an unsafe login raises UnsafeDatabaseLogin here
    except OperationalError as exc:
        log.warning("Database not reachable at start-up (%s); the login is checked later.", exc)
    finally:
        connection.close()


@contextlib.contextmanager
def owner_connection(alias: str = DEFAULT_DB_ALIAS):
    """Within the block, this thread's ``connections[alias]`` uses the owner's login.

    Other threads (a live test server, say) keep the app login. Re-entrant: an owner
    block inside another one reuses its connection.
    """
    current = connections[alias]
    if is_owner_connection(current):
        yield current
        return
    owner_settings = {**current.settings_dict, **settings.DATABASE_OWNER, OWNER_FLAG: True}
    owner = current.__class__(owner_settings, alias)
    connections[alias] = owner
    try:
        yield owner
    finally:
        owner.close()
        # the owner may have renamed the database (test set-up): keep the new name
        current.settings_dict["NAME"] = owner.settings_dict["NAME"]
        connections[alias] = current


def current_role() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        return cursor.fetchone()[0]
