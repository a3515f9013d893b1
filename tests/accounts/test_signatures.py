"""One e-signature service: every signature re-authenticates the same way (21 CFR 11.200).

Eligibility sign-off and causality both call ``accounts.signatures.reauthenticate``; a
wrong password counts towards the one lockout of the account whatever was being signed,
and each refusal carries a code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from accounts.signatures import content_hash, printed_name, reauthenticate
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

RIGHT = PASSWORD


def request():
    return RequestFactory().post("/sign/")


def codes(error: ValidationError) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in error.error_dict.items()}


def test_the_right_password_passes_and_a_wrong_one_is_refused_with_a_code(investigator_a):
    reauthenticate(investigator_a, RIGHT, request())

    with pytest.raises(ValidationError) as caught:
        reauthenticate(investigator_a, "not-my-password", request())

    assert codes(caught.value) == {"password": ["wrong_password"]}
    assert AccessAttempt.objects.get(username="inv_a").failures_since_start == 1


def test_failures_lock_the_account_for_every_kind_of_signature(investigator_a):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        with pytest.raises(ValidationError):
            reauthenticate(investigator_a, "not-my-password", request())

    with pytest.raises(ValidationError) as caught:
        reauthenticate(investigator_a, RIGHT, request())

    assert codes(caught.value) == {"password": ["account_locked"]}


def test_the_printed_name_is_the_full_name_or_else_the_username(investigator_a):
    investigator_a.first_name, investigator_a.last_name = "Wei", "Zhang"
    assert printed_name(investigator_a) == "Wei Zhang"
    investigator_a.first_name = investigator_a.last_name = ""
    assert printed_name(investigator_a) == "inv_a"


def test_the_content_hash_is_sha256_of_canonical_json():
    # worked by hand: keys sorted, no spaces
    expected = hashlib.sha256(b'{"a":1,"b":"x"}').hexdigest()
    assert content_hash({"b": "x", "a": 1}) == expected


def test_no_app_module_re_authenticates_a_signer_but_the_signature_service():
    root = Path(settings.BASE_DIR)
    apps = ["accounts", "alter_s006", "subjects", "eligibility", "dosing", "assessments",
            "safety", "queries", "outbox", "audit"]  # fmt: skip
    callers = sorted(
        str(path.relative_to(root))
        for app in apps
        for path in (root / app).rglob("*.py")
        if "authenticate(request" in path.read_text()
    )
    assert callers == ["accounts/signatures.py"]
