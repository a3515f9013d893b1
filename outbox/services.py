"""Queue notifications; the reminders issue delivers them (Celery, after commit)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from outbox.models import Notification


def notify(
    *,
    kind: str,
    key: str,
    subject_line: str,
    body: str,
    recipient=None,
    email: str = "",
    role: str = "",
    related_subject=None,
) -> Notification:
    """Queue one message, once per ``key``: a second call with the same key returns the first.

    Runs in the caller's transaction (and audit context): rolled back with the change that
    caused it."""
    if recipient is None and not email:
        raise ValidationError("A notification needs a user or an e-mail address.")
    existing = Notification.objects.filter(key=key).first()
    if existing is not None:
        return existing
    row = Notification(
        recipient=recipient,
        email=email,
        role=role,
        subject_line=subject_line[:200],
        body=body,
        kind=kind,
        related_subject=related_subject,
        key=key,
    )
    row.full_clean()
    row.save()
    return row
