"""System checks of the accounts: no account may keep the published demo password.

A database check, as Django's own: it reads the accounts only when the checks are run for
a database, which ``migrate`` does (so the ``migrate`` that starts production fails while
an active account still signs in with the README's demo password) and which
``manage.py check --deploy --database default`` does. Skipped with DEBUG on (the demo),
and silently when the database cannot be read yet (unreachable, or not migrated).
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.checks import Error, Tags, register
from django.db import DatabaseError, connections

from accounts.demo import has_demo_password


@register(Tags.security, Tags.database)
def check_demo_passwords(app_configs=None, databases=None, **kwargs):
    if settings.DEBUG or not databases:
        return []  # the demo has the demo password on purpose; no database, no check
    found = sorted({name for alias in databases for name in _demo_password_users(alias)})
    if not found:
        return []
    return [
        Error(
            f"{len(found)} active account(s) still have the published demo password: "
            f"{', '.join(found)}.",
            hint=(
                "Give each a new password (manage.py changepassword USERNAME) or deactivate "
                "it. Demo data belongs on a DEBUG server, or seed it with --random-passwords."
            ),
            id="accounts.E001",
        )
    ]


def _demo_password_users(alias: str) -> list[str]:
    user_model = get_user_model()
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            tables = connection.introspection.table_names(cursor)
        if user_model._meta.db_table not in tables:
            return []  # not migrated yet
        users = list(user_model._default_manager.using(alias).filter(is_active=True))
    except DatabaseError:
        return []  # unreachable: nothing to check
    return [user.get_username() for user in users if has_demo_password(user)]
