"""Tell the audit triggers who is acting and why.

The triggers read ``alter.user_id``, ``alter.username``, ``alter.reason`` and
``alter.context`` from the PostgreSQL session. The user is set for a whole request
by ``AuditUserMiddleware``; the reason is set for one service call only.
"""

from __future__ import annotations

import contextlib

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import F, Func, TextField, Value
from django.db.models.functions import Cast
from psycopg.pq import TransactionStatus

from audit.triggers import CHAIN_LOCK_NAMESPACE, chain_key_of, lock_key

KEYS = ("alter.user_id", "alter.username", "alter.reason", "alter.context")
# transaction-local: which chain this transaction locked first (reset at commit/rollback)
LOCKED_KEY = "alter.chain_locked"


def _set_all(cursor, values: dict[str, str]) -> None:
    """Set several keys in one round trip."""
    sql = ", ".join("set_config(%s, %s, false)" for _ in values)
    params = [item for pair in values.items() for item in pair]
    cursor.execute(f"SELECT {sql}", params)


def set_actor(user, context: str = "web") -> None:
    """Record ``user`` as the actor of every later write on this connection."""
    uid = str(user.pk) if user is not None and user.is_authenticated else ""
    with connection.cursor() as cursor:
        _set_all(
            cursor,
            {
                "alter.user_id": uid,
                "alter.username": user.get_username() if uid else "",
                "alter.context": context,
                "alter.reason": "",
            },
        )


def actor_settings(user_path: str, context: str) -> dict:
    """``set_actor`` as annotations of a query that reads the user (``user_path``: the
    user's foreign key on the queried model): each row returned sets the actor while it is
    read, so the lookup that finds the user names it too, in the same round trip (a query
    that returns no row sets nothing). Read by ``accounts.api.BearerAuth``."""

    def setting(key, value):
        return Func(
            Value(key), value, Value(False), function="set_config", output_field=TextField()
        )

    username = f"{user_path}__{get_user_model().USERNAME_FIELD}"
    return {
        "_actor_user_id": setting("alter.user_id", Cast(F(f"{user_path}_id"), TextField())),
        "_actor_username": setting("alter.username", Cast(F(username), TextField())),
        "_actor_context": setting("alter.context", Value(context)),
        "_actor_reason": setting("alter.reason", Value("")),
    }


def clear_actor() -> None:
    """Forget the actor (the connection may serve another user next)."""
    if connection.connection is None:
        return
    with connection.cursor() as cursor:
        _set_all(cursor, dict.fromkeys(KEYS, ""))


def _transaction_failed() -> bool:
    """Has a statement failed in the current transaction (which must now roll back)?"""
    if connection.needs_rollback:
        return True
    raw = connection.connection
    return raw is not None and raw.info.transaction_status == TransactionStatus.INERROR


def lock_audit_chain(subject=None) -> None:
    """Take an audit chain's append lock now, before any row lock (held until commit).

    ``subject`` (a Subject, its id, or a row that belongs to a subject) names the
    subject's chain; without it, the study-level chain (sites, users, reference
    ranges...). Every audited write takes its chain's lock in the trigger; a service that
    locked rows first and appended later could deadlock with one that did the opposite,
    so every service takes the chain lock first: one lock order. Writes for different
    subjects take different locks and never wait for each other.

    A transaction that needs both takes the study-level chain first, then the subject's
    (a reference-range write voids signatures of the site's subjects: study, then each
    subject's); never the study-level chain while holding a subject's.
    """
    if connection.in_atomic_block:
        key = chain_key_of(subject)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s), set_config(%s, %s, true)",
                [CHAIN_LOCK_NAMESPACE, lock_key(key), LOCKED_KEY, str(key)],
            )


@contextlib.contextmanager
def audit_context(*, user=None, reason: str = "", context: str | None = None, subject=None):
    """Within the block, writes are recorded with this user, reason and context.

    Takes the chain lock first (``lock_audit_chain``): ``subject``'s chain when given;
    without it, nothing more if the transaction already holds a chain lock (the service
    took its subject's), else the study-level chain's.
    """
    if subject is not None:
        lock_audit_chain(subject)
    keys = (*KEYS, LOCKED_KEY)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join("coalesce(current_setting(%s, true), '')" for _ in keys), keys
        )
        *current, locked = cursor.fetchone()
        saved = dict(zip(KEYS, current, strict=True))
    if subject is None and not locked:
        lock_audit_chain()
    with connection.cursor() as cursor:
        values = {"alter.reason": reason or ""}
        if user is not None:
            values.update({"alter.user_id": str(user.pk), "alter.username": user.get_username()})
        if context is not None:
            values["alter.context"] = context
        _set_all(cursor, values)
    try:
        yield
    finally:
        # After a failed statement the database accepts no query until the rollback, and
        # the rollback restores the settings itself (set_config is transactional):
        # restoring here would only hide the real error behind "transaction aborted".
        if not _transaction_failed():
            with connection.cursor() as cursor:
                _set_all(cursor, saved)
