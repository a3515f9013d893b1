"""Notifications written in the transaction of the change that causes them (DESIGN.md, data
flow step 3); ``outbox.services.send_pending`` sends them after commit and stamps ``sent_at``,
or ``failed_at`` with the reason (a user without an e-mail address). A notice to a user keeps
``email`` empty: the address is read from the user's record when it is sent."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from audit.models import audited
from subjects.models import Subject


class NotificationQuerySet(models.QuerySet):
    def unsent(self):
        return self.filter(sent_at__isnull=True)

    def pending(self):
        """Neither sent nor given up on."""
        return self.filter(sent_at__isnull=True, failed_at__isnull=True)


@audited
class Notification(models.Model):
    """One message to one recipient: a user of the EDC, or an address outside it."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="notifications",
    )
    email = models.EmailField(_("e-mail address"), blank=True)
    role = models.CharField(
        _("role"), max_length=30, blank=True, help_text=_("Why this recipient gets it")
    )
    subject_line = models.CharField(_("subject line"), max_length=200)
    body = models.TextField(_("message"))
    kind = models.CharField(_("kind"), max_length=40)
    related_subject = models.ForeignKey(
        Subject, on_delete=models.PROTECT, null=True, blank=True, related_name="notifications"
    )
    key = models.CharField(
        _("idempotency key"),
        max_length=100,
        unique=True,
        help_text=_("The same key is never queued twice (a retried write sends nothing more)."),
    )
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)
    failure_reason = models.CharField(
        _("why it was not sent"),
        max_length=300,
        blank=True,
        help_text=_("Recorded when the message could not be sent (e.g. no e-mail address)."),
    )

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        constraints = [
            models.CheckConstraint(
                condition=Q(recipient__isnull=False) | ~Q(email=""),
                name="notification_has_recipient",
                violation_error_message=_("A notification needs a user or an e-mail address."),
            )
        ]

    def __str__(self):
        to = self.email or str(self.recipient)
        return f"{self.kind} to {to}: {self.subject_line}"
