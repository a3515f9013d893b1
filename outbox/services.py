"""Queue notifications in the writer's transaction; ``send_pending`` delivers them after
commit (Celery task ``outbox.tasks.send_notifications``).

A notice to a user of the EDC is queued without an address: the address is read from the
user's record when the notice is sent, and a user without one is skipped with the reason
recorded (``failed_at`` / ``failure_reason``)."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models.functions import Now

from audit.context import audit_context, lock_audit_chain
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
        raise ValidationError(
            "A notification needs a user or an e-mail address.", code="no_recipient"
        )
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


NO_ADDRESS = "The recipient has no e-mail address in their user record."
INACTIVE = "The recipient's account is deactivated."


def address_of(notification: Notification) -> tuple[str, str]:
    """(address, why not) at sending time: the address written on the notice (a contact
    outside the EDC), else the recipient's e-mail as their user record has it now (so a
    corrected address is used, and a removed one is not)."""
    if notification.email:
        return notification.email, ""
    user = notification.recipient
    if user is None:  # pragma: no cover - the check constraint forbids it
        return "", NO_ADDRESS
    user.refresh_from_db(fields=["email", "is_active"])
    if not user.is_active:
        return "", INACTIVE
    if not (user.email or "").strip():
        return "", NO_ADDRESS
    return user.email.strip(), ""


def send_pending(limit: int = 200) -> dict[str, int]:
    """Send queued notifications (oldest first), each once: ``sent_at`` when sent; a notice
    that cannot be sent (no address, account deactivated) gets ``failed_at`` and its
    ``failure_reason`` instead and is not tried again. Run after commit (Celery)."""
    counts = {"sent": 0, "failed": 0}
    pending = (
        Notification.objects.pending().select_related("recipient").order_by("created_at", "id")
    )
    for notification in pending[:limit]:
        address, why_not = address_of(notification)
        with transaction.atomic():
            # the chain lock before the row lock (one lock order): the subject's, if any
            lock_audit_chain(notification.related_subject_id)
            row = Notification.objects.select_for_update().get(pk=notification.pk)
            if row.sent_at is not None or row.failed_at is not None:
                continue  # another worker got there first
            if not address:
                with audit_context(reason=f"Notification not sent: {why_not}"):
                    Notification.objects.filter(pk=row.pk).update(
                        failed_at=Now(), failure_reason=why_not[:300]
                    )
                counts["failed"] += 1
                continue
            send_mail(row.subject_line, row.body, settings.DEFAULT_FROM_EMAIL, [address])
            with audit_context(reason="Notification sent"):
                Notification.objects.filter(pk=row.pk).update(sent_at=Now())
            counts["sent"] += 1
    return counts
