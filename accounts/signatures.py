"""The one e-signature service (21 CFR 11.50, 11.100, 11.200).

Everything that is e-signed — eligibility sign-off, causality, and what later issues add
(SAE submission, casebook sign-off) — goes through these steps, in this order:

1. ``reauthenticate``: the signer re-enters the password, outside any transaction, and a
   wrong one counts towards the account's lockout exactly as a failed login does
   (django-axes); a locked account cannot sign.
2. the caller locks the signed rows and checks that what is signed is what was shown (a
   data hash, or the record's version) inside its transaction;
3. the manifestation stored with the record: ``printed_name`` of the signer, the meaning,
   and the database's time (shown in the site's time zone and UTC by
   ``templates/_signature.html``).
"""

from __future__ import annotations

import hashlib
import json

from axes.exceptions import AxesBackendPermissionDenied
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def printed_name(user) -> str:
    """The signer's name as printed with the signature (§11.50(a)(1))."""
    return user.get_full_name() or user.get_username()


def reauthenticate(by, password: str, request) -> None:
    """Raise a ``password`` error unless ``by`` re-entered their own password.

    Must run outside any transaction: the failed attempt django-axes records must not be
    rolled back with the refused signature. ``request`` must be the real request.
    """
    locked = ValidationError(
        {
            "password": ValidationError(
                _("Your account is locked after too many failed attempts; ask your data manager."),
                code="account_locked",
            )
        }
    )
    try:
        user = authenticate(request, username=by.get_username(), password=password or "")
    except AxesBackendPermissionDenied as exc:  # pragma: no cover - authenticate() catches it
        raise locked from exc
    if user is None or user.pk != by.pk:
        if getattr(request, "axes_locked_out", False):
            raise locked
        raise ValidationError(
            {
                "password": ValidationError(
                    _("The password is not correct. Nothing was signed."),
                    code="wrong_password",
                )
            }
        )


def content_hash(payload) -> str:
    """SHA-256 of ``payload`` as canonical JSON: what a signature is bound to."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
