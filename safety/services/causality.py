"""The investigator's e-signed causality assessment of an adverse event."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Now
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.access import Action, require
from accounts.signatures import printed_name, reauthenticate
from audit.context import audit_context
from audit.versioning import EditConflict
from safety.models import (
    AdverseEvent,
)


def sign_causality(
    *,
    ae: AdverseEvent,
    by,
    relationship: str,
    password: str,
    request=None,
    expected_version: int | None = None,
) -> AdverseEvent:
    """The investigator's e-signed causality assessment (PROTOCOL.md "Roles": investigators
    only). The password is re-entered; ``expected_version`` binds it to the AE as read."""
    require(by, Action.SIGN, ae.subject.site_id)
    if relationship not in AdverseEvent.Relationship.values:
        raise ValidationError(
            {
                "relationship": ValidationError(
                    _("Choose the relationship to anlotinib."), code="required"
                )
            }
        )
    reauthenticate(by, password, request)  # outside the transaction: failures count
    with (
        transaction.atomic(),
        audit_context(
            user=by, reason=f"Causality e-signature: {relationship}", subject=ae.subject_id
        ),
    ):
        current = AdverseEvent.objects.select_for_update().get(pk=ae.pk)
        if expected_version is not None and current.version != expected_version:
            raise EditConflict(
                current=current,
                submitted={"relationship": relationship},
                expected_version=expected_version,
            )
        AdverseEvent.objects.filter(pk=current.pk).update(
            relationship=relationship,
            causality_signed_by=by,
            causality_printed_name=printed_name(by),
            causality_signed_at=timezone.now(),
            version=F("version") + 1,
            updated_at=Now(),
        )
    return AdverseEvent.objects.select_related("term", "causality_signed_by").get(pk=ae.pk)
