"""Optimistic locking shared by every CRF: nothing is overwritten silently.

Every edit form carries the version it was opened at. ``save_versioned`` writes only
if the row still has that version; otherwise it raises ``EditConflict`` with the
values now stored, and the view shows the user both side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils.translation import gettext as _

from audit.context import audit_context


@dataclass
class EditConflict(Exception):
    current: object  # the row as it is now stored
    submitted: dict  # field -> value the user tried to save
    expected_version: int

    def differences(self) -> list[tuple[str, str, object, object]]:
        """(field name, label, stored value, submitted value) for fields that differ."""
        rows = []
        for name, mine in self.submitted.items():
            field = self.current._meta.get_field(name)
            theirs = getattr(self.current, field.attname)
            mine_value = mine.pk if hasattr(mine, "pk") else mine
            if theirs != mine_value:
                rows.append((name, str(field.verbose_name), theirs, mine_value))
        return rows


def require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": ValidationError(_("A reason for change is required."), code="required")}
        )
    if len(reason) > 500:
        raise ValidationError(
            {
                "reason": ValidationError(
                    _("Keep the reason under 500 characters."), code="max_length"
                )
            }
        )
    return reason


def save_versioned(instance, *, expected_version: int, changes: dict, by, reason: str):
    """Apply ``changes`` to a saved record if nobody saved it since ``expected_version``."""
    reason = require_reason(reason)
    model = type(instance)
    candidate = model.objects.get(pk=instance.pk)
    for name, value in changes.items():
        setattr(candidate, name, value)
    candidate.full_clean()
    with transaction.atomic(), audit_context(user=by, reason=reason, subject=instance):
        updated = model.objects.filter(pk=instance.pk, version=expected_version).update(
            **changes, version=F("version") + 1, updated_at=Now()
        )
        if updated == 0:
            raise EditConflict(
                current=model.objects.get(pk=instance.pk),
                submitted=changes,
                expected_version=expected_version,
            )
    return model.objects.get(pk=instance.pk)
