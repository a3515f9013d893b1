from django.conf import settings
from django.db import models
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """One row of the append-only, hash-chained audit trail (21 CFR Part 11 §11.10(e)).

    Data rows are written by the ``audit_record_change`` trigger on every audited table;
    logins and workflow actions are inserted by the application. The ``audit_chain``
    BEFORE INSERT trigger stamps the server time, the database role, the chain (the
    subject's, or the study-level one), the position on it, the global sequence and the
    hashes, whatever the inserting client sent.
    """

    class Action(models.TextChoices):
        INSERT = "INSERT", _("Created")
        UPDATE = "UPDATE", _("Changed")
        DELETE = "DELETE", _("Deleted")
        LOGIN = "LOGIN", _("Logged in")
        LOGOUT = "LOGOUT", _("Logged out")
        LOGIN_FAILED = "LOGIN_FAILED", _("Failed login")
        WORKFLOW = "WORKFLOW", _("Workflow action")

    chain_seq = models.BigIntegerField(unique=True, editable=False)
    # which hash chain the event is on (the subject's id; 0 = the study-level chain) and
    # its position there, 1, 2, 3... (see audit.triggers)
    chain_key = models.BigIntegerField(default=0, db_default=0, editable=False)
    chain_pos = models.BigIntegerField(default=0, db_default=0, editable=False)
    occurred_at = models.DateTimeField(db_default=Now(), editable=False)
    table_name = models.CharField(max_length=100, blank=True)
    record_pk = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=20, choices=Action.choices)
    old_data = models.JSONField(null=True, blank=True)
    new_data = models.JSONField(null=True, blank=True)
    app_user_id = models.BigIntegerField(null=True, blank=True)
    app_username = models.CharField(max_length=150, blank=True)
    reason = models.TextField(blank=True)
    context = models.CharField(max_length=50, blank=True)
    db_user = models.CharField(max_length=100, blank=True, editable=False)
    prev_hash = models.CharField(max_length=64, blank=True, editable=False)
    row_hash = models.CharField(max_length=64, blank=True, editable=False)
    # the row's hash on the single global chain it was written on before the per-subject
    # chains (empty for later rows); the old checkpoints name these hashes
    legacy_hash = models.CharField(
        max_length=64, blank=True, default="", db_default="", editable=False
    )

    class Meta:
        ordering = ["chain_seq"]
        indexes = [
            models.Index(fields=["table_name", "record_pk"], name="audit_record_idx"),
            # a subject's history gathers every row that carries its subject_id
            models.Index(KeyTransform("subject_id", "new_data"), name="audit_new_subject_idx"),
            models.Index(KeyTransform("subject_id", "old_data"), name="audit_old_subject_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["chain_key", "chain_pos"], name="audit_chain_position"),
        ]
        default_permissions = ("view",)

    # Columns the ``audit_chain`` trigger overwrites, whatever the client sent.
    SERVER_STAMPED = (
        "chain_seq",
        "chain_key",
        "chain_pos",
        "occurred_at",
        "db_user",
        "prev_hash",
        "row_hash",
        "legacy_hash",
    )

    def __str__(self):
        return f"#{self.chain_seq} {self.action} {self.table_name}:{self.record_pk}"

    def save(self, *args, **kwargs):
        """Append the row, then read back what the database stamped on it.

        Without the read-back the caller would hold the placeholder sequence, hashes and
        role it sent (e.g. ``chain_seq=0``) instead of the values actually stored.
        """
        super().save(*args, **kwargs)
        self.refresh_from_db(fields=self.SERVER_STAMPED)

    save.alters_data = True

    def changes(self) -> list[tuple[str, object, object]]:
        """Return (field, old, new) for each column this event changed."""
        old, new = self.old_data or {}, self.new_data or {}
        keys = [k for k in (new or old) if k not in VersionedModel.BOOKKEEPING]
        return [(k, old.get(k), new.get(k)) for k in keys if old.get(k) != new.get(k)]


class VersionedModel(models.Model):
    """Shared columns of every CRF: optimistic-lock version and server timestamps."""

    BOOKKEEPING = frozenset({"version", "updated_at", "created_at"})

    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now(), editable=False)

    class Meta:
        abstract = True


def audited(model):
    """Class decorator: put the row-level audit trigger on this model's table."""
    from audit import triggers

    triggers.AUDITED_MODELS.append(model)
    return model


__all__ = ["AuditEvent", "VersionedModel", "audited", "settings"]
