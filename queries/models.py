"""Data queries: a question about one field of one clinical record, open until answered and
closed. Edit checks raise them by themselves (``origin = system``); monitors and data managers
raise them by hand, the site answers, and every step is a ``QueryMessage`` of the query's
thread (issue 14 section 1; the transitions in ``queries.workflow``). Messages are never
edited or deleted (a database trigger, ``queries.db``)."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from audit.models import VersionedModel, audited
from subjects.models import Subject


@audited
class Query(VersionedModel):
    class Status(models.TextChoices):
        OPEN = "open", _("open")
        ANSWERED = "answered", _("answered")
        CLOSED = "closed", _("closed")
        CANCELLED = "cancelled", _("cancelled")
        CLOSED_MODIFIED = "closed_modified", _("closed, value changed since")

    class Origin(models.TextChoices):
        SYSTEM = "system", _("edit check")
        MANUAL = "manual", _("raised by hand")

    subject = models.ForeignKey(Subject, on_delete=models.PROTECT, related_name="queries")
    record_type = models.CharField(_("record"), max_length=60)  # "assessments.timepoint"
    record_id = models.PositiveBigIntegerField(_("record id"))
    field = models.CharField(_("field"), max_length=60, blank=True)
    edit_check = models.CharField(
        _("edit check"), max_length=60, blank=True, help_text=_("Code of the check that raised it")
    )
    text = models.TextField(_("query"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default="open")
    origin = models.CharField(_("origin"), max_length=10, choices=Origin.choices)
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    raised_at = models.DateTimeField(db_default=Now(), editable=False)
    closed_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True)
    suggested_value = models.TextField(_("suggested value"), blank=True)
    visit = models.ForeignKey(
        "subjects.Visit", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    answered_at = models.DateTimeField(
        _("first answered"), null=True, blank=True, help_text=_("When the site first answered")
    )
    last_action_at = models.DateTimeField(db_default=Now(), editable=False)
    # close as confirmed: the value the source confirms (JSON of the field), so the edit
    # check does not raise the query again while the value is the same
    confirmed_value = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["subject", "-raised_at", "-id"]
        verbose_name = _("query")
        verbose_name_plural = _("queries")
        indexes = [
            models.Index(fields=["record_type", "record_id"], name="query_record_idx"),
            models.Index(fields=["status", "raised_at"], name="query_status_age_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["record_type", "record_id", "edit_check"],
                condition=models.Q(status="open", origin="system"),
                name="query_one_open_per_check",
            )
        ]

    def __str__(self):
        return f"{self.subject} {self.record_type}#{self.record_id} {self.field}: {self.status}"


@audited
class QueryMessage(VersionedModel):
    """One entry of a query's thread: who did what, with which text. Never edited or
    deleted (refused by the database, ``queries.db``)."""

    class Action(models.TextChoices):
        RAISE = "raise", _("raised")
        ANSWER = "answer", _("answered")
        CLOSE = "close", _("closed")
        SEND_BACK = "send_back", _("sent back")
        REOPEN = "reopen", _("reopened")
        CANCEL = "cancel", _("cancelled")
        SYSTEM_CLOSE = "system_close", _("closed by the system")
        CLOSE_CONFIRMED = "close_confirmed", _("closed as confirmed")
        # written by the database (queries.db) when the queried value changes after closure
        VALUE_CHANGED = "value_changed", _("value changed after closure")

    query = models.ForeignKey(Query, on_delete=models.PROTECT, related_name="messages")
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    author_role = models.CharField(_("role"), max_length=20)
    text = models.TextField(_("text"), blank=True)
    suggested_value = models.TextField(_("suggested value"), blank=True)
    # no database constraint: nothing may hold the append-only audit trail by a foreign key
    # (the trail's own checks must see a truncation, not be stopped by it)
    correction = models.ForeignKey(
        "audit.AuditEvent",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The audit row of the correction this answer made"),
    )

    class Meta:
        ordering = ["query", "created_at", "id"]
        verbose_name = _("query message")
        verbose_name_plural = _("query messages")

    def __str__(self):
        return f"{self.query_id} {self.action} {self.author_role}"

    @property
    def role_label(self) -> str:
        """The author's role as people read it (the system's for its own messages)."""
        from accounts.models import Role

        if self.author_role in Role.values:
            return str(Role(self.author_role).label)
        return str(_("System"))
