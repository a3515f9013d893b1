"""Application events on the audit trail: logins, failed logins, workflow actions."""

from __future__ import annotations

from audit.models import AuditEvent


def record_event(
    *,
    action: str,
    user=None,
    username: str = "",
    table: str = "",
    record_pk: object = "",
    detail: dict | None = None,
    reason: str = "",
    context: str = "web",
) -> AuditEvent:
    """Append one event row; the chain trigger stamps time, role and hashes."""
    return AuditEvent.objects.create(
        chain_seq=0,
        action=action,
        table_name=table,
        record_pk=str(record_pk or ""),
        new_data=detail,
        app_user_id=user.pk if user is not None else None,
        app_username=user.get_username() if user is not None else username,
        reason=reason,
        context=context,
    )


def _client(request) -> dict:
    if request is None:
        return {}
    return {
        "ip": request.META.get("REMOTE_ADDR", ""),
        "agent": request.META.get("HTTP_USER_AGENT", "")[:200],
    }


def on_login(sender, request, user, **kwargs):
    record_event(action=AuditEvent.Action.LOGIN, user=user, detail=_client(request))


def on_logout(sender, request, user, **kwargs):
    if user is not None:
        record_event(action=AuditEvent.Action.LOGOUT, user=user, detail=_client(request))


def on_login_failed(sender, credentials, request=None, **kwargs):
    record_event(
        action=AuditEvent.Action.LOGIN_FAILED,
        username=str(credentials.get("username", ""))[:150],
        detail=_client(request),
    )
