"""Tests of eligibility.services on real PostgreSQL: signature, voiding, enrolment gate, ranges.

The clock is frozen at 2026-03-02 10:00 in Guangzhou (``site.today()`` is 2026-03-02).
``subject_a`` (GZ01) is a woman born 1980-05-17 who consented on 2026-02-27 (today - 3).
The eligible screening of ``tests.factories.eligible_screening_data`` then has: first
procedure 2026-02-27, planned C1D1 2026-03-07 (today + 5), laboratory 2026-02-28, ALT 22 U/L,
AST 25 U/L, no liver metastases, childbearing potential with a negative serum pregnancy test
on 2026-03-02 (5 days before C1D1). The site laboratory's ALT ULN is 40 U/L from 2020-01-01.
Every expected value below is worked out by hand from these numbers.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from axes.models import AccessAttempt
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import RequestFactory

from accounts.models import Role
from audit.models import AuditEvent
from audit.versioning import EditConflict
from eligibility import services
from eligibility.models import EligibilitySignature, ReferenceRange, Screening
from subjects import services as subject_services
from subjects.lifecycle import SubjectStatus
from subjects.models import StatusChange, Subject
from tests.factories import (
    PASSWORD,
    add_reference_ranges,
    eligible_screening_data,
    enrol,
    make_subject,
    member,
    sign_eligible,
)

S = SubjectStatus
D = dt.date
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TODAY = D(2026, 3, 2)
CONSENT = D(2026, 2, 27)  # subject_a: today - 3
PLANNED_C1D1 = D(2026, 3, 7)  # eligible_screening_data: today + 5
WRONG = "not-the-password-1"
NOT_ELIGIBLE = "The verdict is not eligible: there is nothing to sign."
SIG_TABLE = "eligibility_eligibilitysignature"


@pytest.fixture(autouse=True)
def _frozen_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def investigator_b(site_b):
    return member("inv_b", Role.INVESTIGATOR, site_b)


JUDGEMENT = ("I04", "E11", "E16")  # answered in the subject's favour by eligible_screening_data


def web_request():
    """A real request object, as the signing page passes it (django-axes needs one)."""
    return RequestFactory().post("/sign/")


def enter(subject, by, **overrides):
    """Save the first screening of ``subject`` (eligible unless ``overrides`` say otherwise)."""
    add_reference_ranges(subject.site)
    return services.save_screening(
        subject=subject,
        changes=eligible_screening_data(subject, **overrides),
        expected_version=None,
        by=by,
    )


def correct(subject, by, reason="Transcription error corrected", **changes):
    screening = Screening.objects.get(subject=subject)
    return services.save_screening(
        subject=subject,
        changes=changes,
        expected_version=screening.version,
        by=by,
        reason=reason,
    )


def shown_hash(subject) -> str:
    """The data hash the signing page shows now (what the investigator reads)."""
    fresh = Subject.objects.get(pk=subject.pk)
    return services.data_hash(fresh, services.get_screening(fresh))


def sign(subject, by, password=PASSWORD, expected_hash=None):
    return services.sign_eligibility(
        subject=subject,
        by=by,
        password=password,
        request=web_request(),
        expected_hash=shown_hash(subject) if expected_hash is None else expected_hash,
        attested=JUDGEMENT,
    )


def enrol_now(subject, by, c1d1=None, on_date=TODAY):
    subject.refresh_from_db()
    return subject_services.change_status(
        subject=subject,
        target=S.ENROLLED,
        on_date=on_date,
        reason="",
        by=by,
        expected_version=subject.version,
        c1d1=c1d1,
    )


def messages_of(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


def result(verdict, code):
    return next(r for r in verdict.results if r.code == code)


# --- who may sign -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "who", ["coordinator_a", "monitor_a", "data_manager", "coordinator_b", "investigator_b"]
)
def test_only_an_investigator_of_the_subjects_site_may_sign(
    who, request, subject_a, coordinator_a, cast
):
    enter(subject_a, coordinator_a)
    user = request.getfixturevalue(who)

    with pytest.raises(PermissionDenied):
        sign(subject_a, user)

    assert not EligibilitySignature.objects.exists()


def test_the_investigator_signs_with_printed_name_meaning_verdict_and_the_data_hash(
    subject_a, coordinator_a, investigator_a
):
    screening = enter(subject_a, coordinator_a)
    events_before = AuditEvent.objects.filter(table_name=SIG_TABLE).count()

    signature = sign(subject_a, investigator_a)

    signature.refresh_from_db()
    # UserFactory: first name "Test", last name the username titled ("inv_a" -> "Inv_A").
    assert signature.printed_name == "Test Inv_A"
    assert signature.signed_by == investigator_a
    assert signature.meaning == "I confirm this subject meets all eligibility criteria"
    assert signature.data_hash == services.data_hash(subject_a, screening)
    assert len(signature.data_hash) == 64
    assert int(signature.data_hash, 16) >= 0  # hexadecimal SHA-256
    assert signature.verdict["eligible"] is True
    assert len(signature.verdict["results"]) == 25  # I01-I09 and E01-E16
    assert signature.voided_at is None
    assert signature.signed_at is not None
    assert services.valid_signature(subject_a, screening) == signature
    inserted = AuditEvent.objects.filter(table_name=SIG_TABLE, action="INSERT").get()
    assert (inserted.record_pk, inserted.app_user_id, inserted.reason) == (
        str(signature.pk),
        investigator_a.pk,
        "Eligibility e-signature",
    )
    assert AuditEvent.objects.filter(table_name=SIG_TABLE).count() == events_before + 1


def test_the_data_hash_changes_with_any_entered_value_and_with_the_demographics(
    subject_a, coordinator_a
):
    screening = enter(subject_a, coordinator_a)
    first = services.data_hash(subject_a, screening)
    assert services.data_hash(subject_a, screening) == first  # deterministic

    screening.alt_value = Decimal("23")
    assert services.data_hash(subject_a, screening) != first
    screening.alt_value = Decimal("22.000")  # the same number as stored (3 places)
    assert services.data_hash(subject_a, screening) == first
    subject_a.date_of_birth = D(1981, 5, 17)
    assert services.data_hash(subject_a, screening) != first


def test_a_wrong_password_signs_nothing_and_says_so_by_the_password(
    subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a)

    with pytest.raises(ValidationError) as caught:
        sign(subject_a, investigator_a, password=WRONG)

    assert codes_of(caught.value) == {"password": ["wrong_password"]}
    assert not EligibilitySignature.objects.exists()
    assert AccessAttempt.objects.get(username="inv_a").failures_since_start == 1


def test_five_wrong_signature_passwords_lock_the_account_even_for_the_right_one(
    subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a)
    for attempt in range(1, 6):
        with pytest.raises(ValidationError) as caught:
            sign(subject_a, investigator_a, password=WRONG)
        # the 5th failure locks the account at once
        assert list(codes_of(caught.value)) == ["password"], attempt
    assert AccessAttempt.objects.get(username="inv_a").failures_since_start == 5

    with pytest.raises(ValidationError) as caught:  # 6th attempt, right password
        sign(subject_a, investigator_a)

    assert codes_of(caught.value) == {"password": ["account_locked"]}
    assert not EligibilitySignature.objects.exists()
    assert AuditEvent.objects.filter(action="LOGIN_FAILED", app_username="inv_a").count() >= 5


def test_four_wrong_passwords_then_the_right_one_signs(subject_a, coordinator_a, investigator_a):
    enter(subject_a, coordinator_a)
    for _ in range(4):
        with pytest.raises(ValidationError):
            sign(subject_a, investigator_a, password=WRONG)

    signature = sign(subject_a, investigator_a)

    assert EligibilitySignature.objects.get() == signature


def test_nothing_can_be_signed_before_the_screening_is_entered(subject_a, investigator_a):
    with pytest.raises(ValidationError) as caught:
        sign(subject_a, investigator_a)

    assert codes_of(caught.value) == {"__all__": ["no_data"]}
    assert not EligibilitySignature.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "code", "status"),
    [
        # E09 (b): QTc not entered -> E09 not evaluable (missing data is never "met").
        ({"qtc_ms": None}, "E09", "not_evaluable"),
        # I08: ALT 120 U/L = 3.0 x ULN 40 > 2.5 x ULN (no liver metastases) -> not met.
        ({"alt_value": Decimal("120")}, "I08", "not_met"),
    ],
    ids=["missing-qtc", "alt-3-x-uln"],
)
def test_a_verdict_that_is_not_eligible_cannot_be_signed(
    overrides, code, status, subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a, **overrides)
    verdict = services.evaluate(subject_a)
    assert not verdict.eligible
    assert result(verdict, code).status == status

    with pytest.raises(ValidationError) as caught:
        sign(subject_a, investigator_a)

    assert codes_of(caught.value) == {"__all__": ["not_eligible"]}
    assert not EligibilitySignature.objects.exists()


# --- voiding --------------------------------------------------------------------------------


def test_correcting_a_signed_value_voids_the_signature_with_the_changed_field_audited(
    subject_a, coordinator_a, investigator_a
):
    signature = sign_eligible(subject_a, by=coordinator_a)

    # ALT 22 -> 60 U/L: 60 / 40 = 1.5 x ULN, still eligible (limit 2.5 x ULN).
    correct(subject_a, coordinator_a, alt_value=Decimal("60"))

    signature.refresh_from_db()
    assert signature.is_void
    assert signature.void_reason == "Data changed after signing: alt_value"
    voided = AuditEvent.objects.filter(
        table_name=SIG_TABLE, record_pk=str(signature.pk), action="UPDATE"
    ).get()
    assert voided.reason == "Data changed after signing: alt_value"
    assert voided.app_user_id == coordinator_a.pk
    assert voided.old_data["voided_at"] is None
    assert voided.new_data["void_reason"] == "Data changed after signing: alt_value"
    assert services.evaluate(subject_a).eligible
    assert services.valid_signature(subject_a, Screening.objects.get()) is None


def test_correcting_an_unrelated_value_to_the_same_value_keeps_the_signature(
    subject_a, coordinator_a, investigator_a
):
    signature = sign_eligible(subject_a, by=coordinator_a)

    correct(subject_a, coordinator_a, alt_value=Decimal("22.000"))  # the stored value again

    signature.refresh_from_db()
    assert not signature.is_void


def test_after_a_void_enrolment_is_refused_until_a_new_signature(
    subject_a, coordinator_a, investigator_a
):
    sign_eligible(subject_a, by=coordinator_a)
    correct(subject_a, coordinator_a, alt_value=Decimal("60"))

    with pytest.raises(ValidationError) as caught:
        enrol_now(subject_a, coordinator_a)
    assert enrol_codes(caught.value) == ["not_signed"]
    subject_a.refresh_from_db()
    assert (subject_a.status, subject_a.subject_number) == (S.SCREENING, None)

    new = sign(subject_a, investigator_a)
    enrolled = enrol_now(subject_a, coordinator_a)

    assert EligibilitySignature.objects.filter(voided_at__isnull=True).get() == new
    assert (enrolled.status, enrolled.subject_number, enrolled.c1d1_date) == (
        S.ENROLLED,
        "GZ01-001",
        PLANNED_C1D1,
    )


def test_a_demographics_correction_voids_the_signature_and_blocks_enrolment(
    subject_a, coordinator_a, investigator_a
):
    signature = sign_eligible(subject_a, by=coordinator_a)
    subject_a.refresh_from_db()

    # Born 1981-05-17 instead of 1980-05-17: age 44 at consent 2026-02-27, still eligible.
    subject_services.correct_subject(
        subject=subject_a,
        expected_version=subject_a.version,
        changes={"date_of_birth": D(1981, 5, 17)},
        by=coordinator_a,
        reason="Date of birth misread from the ID card",
    )

    signature.refresh_from_db()
    assert signature.is_void
    assert signature.void_reason == "Data changed after signing: date_of_birth"
    assert AuditEvent.objects.filter(
        table_name=SIG_TABLE,
        record_pk=str(signature.pk),
        action="UPDATE",
        reason="Data changed after signing: date_of_birth",
    ).exists()
    with pytest.raises(ValidationError) as caught:
        enrol_now(subject_a, coordinator_a)
    assert enrol_codes(caught.value) == ["not_signed"]


def test_a_new_signature_supersedes_the_active_one(subject_a, coordinator_a, investigator_a):
    first = sign_eligible(subject_a, by=coordinator_a)
    # The site's ALT range changes (ULN 40 -> 45 U/L from the laboratory date): the data the
    # verdict is derived from is no longer what was signed, so the investigator signs again.
    add_alt_range(subject_a.site, Decimal("45"), D(2026, 2, 28))

    second = sign(subject_a, investigator_a)

    first.refresh_from_db()
    assert (first.is_void, first.void_reason) == (True, "Superseded by a new signature")
    assert second.pk != first.pk
    assert services.valid_signature(subject_a, Screening.objects.get()) == second


# --- issue 10.4: the signature covers what the investigator was shown, checked under lock ---


def enrol_codes(exc: ValidationError) -> list[str]:
    """The codes of an enrolment refusal, whatever field the status change files them under."""
    return [e.code for errors in exc.error_dict.values() for e in errors]


def codes_of(exc: ValidationError) -> dict[str, list[str]]:
    """The error codes by field (``__all__`` for the form as a whole)."""
    if hasattr(exc, "error_dict"):
        return {f: [e.code for e in errors] for f, errors in exc.error_dict.items()}
    return {"__all__": [e.code for e in exc.error_list]}


def test_signing_with_an_empty_hash_of_the_data_shown_is_refused(
    subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a)

    with pytest.raises(ValidationError) as caught:
        sign(subject_a, investigator_a, expected_hash="")

    assert codes_of(caught.value) == {"data_hash": ["data_hash_required"]}
    assert not AccessAttempt.objects.exists()  # refused before the password was checked
    assert not EligibilitySignature.objects.exists()


def test_the_hash_of_the_data_shown_is_a_required_argument(
    subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a)

    with pytest.raises(TypeError, match="expected_hash"):
        services.sign_eligibility(
            subject=subject_a, by=investigator_a, password=PASSWORD, request=web_request()
        )

    assert not EligibilitySignature.objects.exists()


def test_a_hash_of_other_data_signs_nothing_and_says_stale_data(
    subject_a, coordinator_a, investigator_a
):
    enter(subject_a, coordinator_a)

    with pytest.raises(ValidationError) as caught:
        sign(subject_a, investigator_a, expected_hash="f" * 64)

    assert codes_of(caught.value) == {"__all__": ["stale_data"]}
    assert not EligibilitySignature.objects.exists()


def test_the_hash_is_compared_with_the_data_as_stored_not_as_the_caller_holds_it(
    subject_a, coordinator_a, investigator_a
):
    """The caller's subject holds the screening it read (cached); a correction commits
    before the signature: the hash of that old copy must not sign the new data."""
    enter(subject_a, coordinator_a)
    held = Subject.objects.get(pk=subject_a.pk)
    read = services.data_hash(held, services.get_screening(held))  # caches held.screening
    correct(subject_a, coordinator_a, alt_value=Decimal("30"))

    with pytest.raises(ValidationError) as caught:
        services.sign_eligibility(
            subject=held,
            by=investigator_a,
            password=PASSWORD,
            request=web_request(),
            expected_hash=read,
            attested=JUDGEMENT,
        )

    assert codes_of(caught.value) == {"__all__": ["stale_data"]}
    assert not EligibilitySignature.objects.exists()


def test_the_signing_transaction_locks_the_subject_and_screening_rows(
    subject_a, coordinator_a, investigator_a
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    enter(subject_a, coordinator_a)
    with CaptureQueriesContext(connection) as queries:
        sign(subject_a, investigator_a)

    locking = [q["sql"] for q in queries.captured_queries if "FOR UPDATE" in q["sql"]]
    assert any('FROM "subjects_subject"' in sql for sql in locking)
    assert any('FROM "eligibility_screening"' in sql for sql in locking)


# --- issue 10.5: no signature after screening; the same data signed twice is one signature ---


def test_eligibility_cannot_be_signed_again_after_enrolment(
    subject_a, coordinator_a, investigator_a
):
    relied_on = sign_eligible(subject_a, by=coordinator_a)
    enrol_now(subject_a, coordinator_a, c1d1=PLANNED_C1D1)
    subject_a.refresh_from_db()
    assert subject_a.status == S.ENROLLED

    with pytest.raises(ValidationError) as caught:
        sign(subject_a, investigator_a)

    assert codes_of(caught.value) == {"__all__": ["not_in_screening"]}
    relied_on.refresh_from_db()
    assert not relied_on.is_void  # the signature the enrolment relied on stands
    assert EligibilitySignature.objects.get() == relied_on
    assert not AccessAttempt.objects.exists()  # refused before the password was checked


def test_a_stale_signature_after_enrolment_cannot_be_replaced_either(
    subject_a, coordinator_a, investigator_a
):
    """Even when the signature no longer covers the data (a range changed), an enrolled
    subject is not re-signed: the enrolment's signature is history, not superseded."""
    relied_on = sign_eligible(subject_a, by=coordinator_a)
    enrol_now(subject_a, coordinator_a, c1d1=PLANNED_C1D1)
    add_alt_range(subject_a.site, Decimal("45"), D(2026, 2, 28))

    with pytest.raises(ValidationError) as caught:
        sign(subject_a, investigator_a)

    assert codes_of(caught.value) == {"__all__": ["not_in_screening"]}
    relied_on.refresh_from_db()
    assert not relied_on.is_void
    assert EligibilitySignature.objects.count() == 1


def test_signing_the_same_data_twice_is_one_signature(subject_a, coordinator_a, investigator_a):
    enter(subject_a, coordinator_a)
    first = sign(subject_a, investigator_a)
    assert first.created is True

    replayed = sign(subject_a, investigator_a)  # the same POST, sent again

    assert replayed.pk == first.pk and replayed.created is False
    first.refresh_from_db()
    assert not first.is_void
    assert EligibilitySignature.objects.get() == first
    assert AuditEvent.objects.filter(table_name=SIG_TABLE).count() == 1  # the INSERT only


def test_a_second_investigator_signing_the_same_data_gets_the_existing_signature(
    subject_a, site_a, coordinator_a, investigator_a
):
    second_investigator = member("inv_a2", Role.INVESTIGATOR, site_a)
    enter(subject_a, coordinator_a)
    first = sign(subject_a, investigator_a)

    again = sign(subject_a, second_investigator)

    assert (again.pk, again.created, again.signed_by) == (first.pk, False, investigator_a)
    assert EligibilitySignature.objects.filter(voided_at__isnull=True).count() == 1
    assert EligibilitySignature.objects.count() == 1


# --- corrections: reason and version ---------------------------------------------------------


def test_a_correction_needs_a_reason(subject_a, coordinator_a):
    enter(subject_a, coordinator_a)
    events = AuditEvent.objects.count()

    with pytest.raises(ValidationError) as caught:
        correct(subject_a, coordinator_a, reason="  ", alt_value=Decimal("60"))

    assert codes_of(caught.value) == {"reason": ["required"]}
    screening = Screening.objects.get()
    assert (screening.alt_value, screening.version) == (Decimal("22"), 1)
    assert AuditEvent.objects.count() == events


def test_a_correction_from_a_stale_version_is_a_conflict(subject_a, coordinator_a, investigator_a):
    enter(subject_a, coordinator_a)
    correct(subject_a, investigator_a, alt_value=Decimal("30"))  # now version 2

    with pytest.raises(EditConflict) as caught:
        services.save_screening(
            subject=subject_a,
            changes={"alt_value": Decimal("60")},
            expected_version=1,
            by=coordinator_a,
            reason="Corrected",
        )

    assert caught.value.differences() == [
        ("alt_value", "ALT (U/L)", Decimal("30.000"), Decimal("60"))
    ]
    screening = Screening.objects.get()
    assert (screening.alt_value, screening.version) == (Decimal("30"), 2)


def test_the_first_save_is_audited_as_an_insert(subject_a, coordinator_a):
    screening = enter(subject_a, coordinator_a)

    event = AuditEvent.objects.get(table_name="eligibility_screening", action="INSERT")
    assert (event.record_pk, event.app_user_id) == (str(screening.pk), coordinator_a.pk)
    assert event.new_data["alt_value"] in (22, "22", 22.0, "22.000")


# --- enrolment gate ---------------------------------------------------------------------------


def test_enrolment_with_a_signed_eligible_verdict_uses_the_planned_c1d1(
    subject_a, coordinator_a, investigator_a
):
    sign_eligible(subject_a, by=coordinator_a)

    enrolled = enrol_now(subject_a, coordinator_a)  # no C1D1 given: the planned one

    assert (enrolled.status, enrolled.subject_number, enrolled.c1d1_date) == (
        S.ENROLLED,
        "GZ01-001",
        PLANNED_C1D1,
    )
    c1d1 = enrolled.visits.get(code="C1D1")
    assert c1d1.target_date == PLANNED_C1D1
    # C2D1 = C1D1 + 21 days = 2026-03-28.
    assert enrolled.visits.get(code="C2D1").target_date == D(2026, 3, 28)


def test_enrolment_without_a_signature_is_refused(subject_a, coordinator_a):
    enter(subject_a, coordinator_a)
    assert services.evaluate(subject_a).eligible

    with pytest.raises(ValidationError) as caught:
        enrol_now(subject_a, coordinator_a, c1d1=PLANNED_C1D1)

    assert enrol_codes(caught.value) == ["not_signed"]
    assert Subject.objects.get().status == S.SCREENING


def test_enrolment_before_any_screening_is_refused(subject_a, coordinator_a):
    with pytest.raises(ValidationError) as caught:
        enrol_now(subject_a, coordinator_a, c1d1=PLANNED_C1D1)

    assert enrol_codes(caught.value) == ["no_screening"]


def test_enrolment_with_another_c1d1_than_the_signed_one_is_refused(
    subject_a, coordinator_a, investigator_a
):
    sign_eligible(subject_a, by=coordinator_a)

    with pytest.raises(ValidationError) as caught:
        enrol_now(subject_a, coordinator_a, c1d1=D(2026, 3, 8))

    assert codes_of(caught.value) == {"c1d1": ["c1d1_not_planned"]}
    assert "2026-03-07" in caught.value.messages[0]
    subject = Subject.objects.get()
    assert (subject.status, subject.subject_number, subject.c1d1_date) == (S.SCREENING, None, None)


def test_moving_c1d1_later_makes_the_pregnancy_test_too_old_and_voids_the_signature(
    subject_a, coordinator_a, investigator_a
):
    signature = sign_eligible(subject_a, by=coordinator_a)

    # Planned C1D1 2026-03-07 -> 2026-03-10: the test of 2026-03-02 is then 8 days before (> 7).
    correct(subject_a, coordinator_a, planned_c1d1=D(2026, 3, 10))

    i09 = result(services.evaluate(subject_a), "I09")
    assert i09.status == "not_met"
    assert i09.reason == (
        "negative serum pregnancy test 2026-03-02 is 8 days before planned C1D1 2026-03-10: "
        "test is older than 7 days before C1D1"
    )
    signature.refresh_from_db()
    assert signature.void_reason == "Data changed after signing: planned_c1d1"
    with pytest.raises(ValidationError) as caught:
        enrol_now(subject_a, coordinator_a, c1d1=D(2026, 3, 10))
    assert enrol_codes(caught.value) == ["not_eligible"]
    assert "I09" in caught.value.messages[0]


def test_the_pregnancy_test_exactly_7_days_before_c1d1_is_still_in_time(
    subject_a, coordinator_a, investigator_a
):
    sign_eligible(subject_a, by=coordinator_a)

    correct(subject_a, coordinator_a, planned_c1d1=D(2026, 3, 9))  # 2026-03-02 + 7 days

    i09 = result(services.evaluate(subject_a), "I09")
    assert i09.status == "met"
    assert "is 7 days before planned C1D1 2026-03-09; needs 0-7 days" in i09.reason


# --- per-site reference ranges ------------------------------------------------------------------


def add_alt_range(site, uln, valid_from, sex=""):
    return ReferenceRange.objects.create(
        site=site, analyte="alt", unit="U/L", lln=Decimal("7"), uln=uln, sex=sex,
        valid_from=valid_from,
    )  # fmt: skip


def alt_reason(subject):
    i08 = result(services.evaluate(subject), "I08")
    part = next(p for p in i08.reason.split(" | ") if p.startswith("ALT "))
    return i08.status, part


def test_the_alt_range_in_force_on_the_laboratory_date_decides(subject_a, site_a, coordinator_a):
    # Old range: ULN 40 U/L from 2020-01-01 (add_reference_ranges); new: ULN 50 from 2026-02-28.
    enter(subject_a, coordinator_a, alt_value=Decimal("120"), lab_date=D(2026, 2, 27))
    add_alt_range(site_a, Decimal("50"), D(2026, 2, 28))

    # Laboratory on 2026-02-27, the day before the new range: 120 / 40 = 3.0 x ULN > 2.5.
    assert alt_reason(subject_a) == (
        "not_met",
        "ALT 120 U/L = 3.0 × ULN 40 U/L; limit 2.5 × ULN without liver metastases",
    )

    # Laboratory on 2026-02-28, the day the new range starts: 120 / 50 = 2.4 x ULN <= 2.5.
    correct(subject_a, coordinator_a, lab_date=D(2026, 2, 28))
    assert alt_reason(subject_a) == (
        "met",
        "ALT 120 U/L = 2.4 × ULN 50 U/L; limit 2.5 × ULN without liver metastases",
    )


def test_a_sex_specific_range_beats_the_neutral_one(subject_a, site_a, coordinator_a):
    # Neutral ALT ULN 40; for women ULN 30 from the same day; for men ULN 20 (not hers).
    enter(subject_a, coordinator_a, alt_value=Decimal("90"))
    add_alt_range(site_a, Decimal("30"), D(2020, 1, 1), sex="F")
    add_alt_range(site_a, Decimal("20"), D(2020, 1, 1), sex="M")

    # 90 / 30 = 3.0 x ULN > 2.5 (with the neutral ULN 40 it would be 2.25, eligible).
    assert alt_reason(subject_a) == (
        "not_met",
        "ALT 90 U/L = 3.0 × ULN 30 U/L; limit 2.5 × ULN without liver metastases",
    )


def test_another_sites_ranges_are_not_used(subject_a, site_a, site_b, coordinator_a):
    enter(subject_a, coordinator_a, alt_value=Decimal("90"))
    add_alt_range(site_b, Decimal("100"), D(2026, 1, 1))

    # GZ01's own ULN 40: 90 / 40 = 2.25 x ULN (SH02's ULN 100 would give 0.9).
    assert alt_reason(subject_a) == (
        "met",
        "ALT 90 U/L = 2.25 × ULN 40 U/L; limit 2.5 × ULN without liver metastases",
    )


def test_a_laboratory_date_before_every_range_leaves_alt_not_evaluable(
    subject_a, site_a, coordinator_a
):
    enter(subject_a, coordinator_a)  # laboratory 2026-02-28
    ReferenceRange.objects.filter(site=site_a, analyte="alt").delete()
    add_alt_range(site_a, Decimal("40"), D(2026, 3, 1))  # the only ALT range: from 2026-03-01

    i08 = result(services.evaluate(subject_a), "I08")

    assert i08.status == "not_evaluable"
    assert "no reference range for ALT at this site on 2026-02-28" in i08.reason


# --- screen failure and the screening log ---------------------------------------------------


def fail_screening(subject, by):
    """ECOG 3 (I03 needs 0-2) and ALT 120 U/L = 3.0 x ULN 40 (I08): two criteria not met."""
    enter(subject, by, ecog=3, alt_value=Decimal("120"))
    subject.refresh_from_db()
    verdict = services.evaluate(subject)
    return subject_services.change_status(
        subject=subject,
        target=S.SCREEN_FAILED,
        on_date=TODAY,
        reason=services.failure_reason(verdict),
        by=by,
        expected_version=subject.version,
    )


def test_the_failure_reason_lists_every_criterion_not_met_with_its_reason(subject_a, coordinator_a):
    enter(subject_a, coordinator_a, ecog=3, alt_value=Decimal("120"))

    reason = services.failure_reason(services.evaluate(subject_a))

    assert reason == (
        "I03: ECOG 3; needs 0-2; "
        "I08: ALT 120 U/L = 3.0 × ULN 40 U/L; limit 2.5 × ULN without liver metastases"
    )


def screened_cast(site_a, site_b, coordinator_a, coordinator_b):
    """GZ01: S001 enrolled, S002 screen failed, S003 in screening; SH02: S001 in screening,
    S002 screen failed."""
    enrol(make_subject(site_a, coordinator_a, initials="AAA"))
    fail_screening(make_subject(site_a, coordinator_a, initials="BBB"), coordinator_a)
    make_subject(site_a, coordinator_a, initials="CCC")
    make_subject(site_b, coordinator_b, initials="DDD")
    fail_screening(make_subject(site_b, coordinator_b, initials="EEE"), coordinator_b)


COUNTS_A = {
    "site__code": "GZ01",
    "screened": 3,
    "in_screening": 1,
    "screen_failed": 1,
    "enrolled": 1,
    "withdrawn_in_screening": 0,
}
COUNTS_B = {
    "site__code": "SH02",
    "screened": 2,
    "in_screening": 1,
    "screen_failed": 1,
    "enrolled": 0,
    "withdrawn_in_screening": 0,
}
FAILURE = (
    "I03: ECOG 3; needs 0-2; "
    "I08: ALT 120 U/L = 3.0 × ULN 40 U/L; limit 2.5 × ULN without liver metastases"
)


def test_the_screening_log_counts_and_lists_every_site_for_the_data_manager(
    site_a, site_b, coordinator_a, coordinator_b, data_manager
):
    from accounts.models import Site

    screened_cast(site_a, site_b, coordinator_a, coordinator_b)

    rows, counts = services.screening_log(data_manager, Site.objects.all())

    assert counts == [COUNTS_A, COUNTS_B]
    assert [(s.screening_number, s.status, s.subject_number, reason) for s, reason in rows] == [
        ("GZ01-S001", S.ENROLLED, "GZ01-001", ""),
        ("GZ01-S002", S.SCREEN_FAILED, None, FAILURE),
        ("GZ01-S003", S.SCREENING, None, ""),
        ("SH02-S001", S.SCREENING, None, ""),
        ("SH02-S002", S.SCREEN_FAILED, None, FAILURE),
    ]


def test_the_screening_log_of_a_coordinator_shows_only_their_site(
    site_a, site_b, coordinator_a, coordinator_b
):
    from accounts.models import Site

    screened_cast(site_a, site_b, coordinator_a, coordinator_b)

    rows, counts = services.screening_log(coordinator_b, Site.objects.all())

    assert counts == [COUNTS_B]
    assert [s.screening_number for s, _reason in rows] == ["SH02-S001", "SH02-S002"]


def test_the_screening_log_gives_the_reason_of_a_withdrawal_in_screening(
    subject_a, coordinator_a, site_a
):
    subject_services.change_status(
        subject=subject_a,
        target=S.WITHDRAWN,
        on_date=TODAY,
        reason="Consent withdrawn before any treatment",
        by=coordinator_a,
        expected_version=subject_a.version,
    )

    rows, counts = services.screening_log(coordinator_a, [site_a])

    assert [(s.status, reason) for s, reason in rows] == [
        (S.WITHDRAWN, "Consent withdrawn before any treatment")
    ]
    assert counts[0]["withdrawn_in_screening"] == 1
    assert StatusChange.objects.filter(to_status=S.WITHDRAWN).count() == 1


# --- the screening window ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("c1d1", "warning"),
    [
        # First procedure 2026-02-27 + 28 days = 2026-03-27 (February 2026 has 28 days).
        (D(2026, 3, 27), ""),
        (
            D(2026, 3, 28),
            "Planned C1D1 is 29 days after the first screening procedure; the screening "
            "window is 28 days.",
        ),
    ],
    ids=["28-days", "29-days"],
)
def test_the_screening_window_warning(c1d1, warning, subject_a, coordinator_a):
    screening = enter(subject_a, coordinator_a, planned_c1d1=c1d1)

    assert screening.first_procedure_date == CONSENT
    assert services.screening_window_warning(screening) == warning


def test_a_concurrent_first_save_is_an_edit_conflict_not_a_crash(subject_a, coordinator_a):
    opened = Subject.objects.get(pk=subject_a.pk)
    assert services.get_screening(opened).pk is None  # the form was opened blank
    enter(subject_a, coordinator_a)  # meanwhile someone else saves the first screening

    with pytest.raises(EditConflict) as caught:
        services.save_screening(
            subject=opened,
            changes=eligible_screening_data(opened, alt_value=Decimal("30")),
            expected_version=None,
            by=coordinator_a,
        )

    assert ("alt_value", "ALT (U/L)", Decimal("22.000"), Decimal("30")) in (
        caught.value.differences()
    )
    assert Screening.objects.get().alt_value == Decimal("22")


def test_a_signature_of_data_that_changed_since_it_was_read_is_refused(
    subject_a, coordinator_a, investigator_a
):
    screening = enter(subject_a, coordinator_a)
    read = services.data_hash(subject_a, screening)
    correct(subject_a, coordinator_a, alt_value=Decimal("30"))

    with pytest.raises(ValidationError) as caught:
        services.sign_eligibility(
            subject=subject_a,
            by=investigator_a,
            password=PASSWORD,
            request=web_request(),
            expected_hash=read,
            attested=JUDGEMENT,
        )

    assert codes_of(caught.value) == {"__all__": ["stale_data"]}
    assert not EligibilitySignature.objects.exists()


# --- issue 11 A2: screening data is written only while the subject is in screening ----------


def test_screening_cannot_be_corrected_after_enrolment(subject_a, coordinator_a):
    sign_eligible(subject_a, by=coordinator_a)
    enrol_now(subject_a, coordinator_a, c1d1=PLANNED_C1D1)
    subject_a.refresh_from_db()
    before = (list(Screening.objects.values()), AuditEvent.objects.count())

    with pytest.raises(ValidationError) as caught:
        correct(subject_a, coordinator_a, qtc_ms=470)

    assert codes_of(caught.value) == {"__all__": ["not_in_screening"]}
    assert (list(Screening.objects.values()), AuditEvent.objects.count()) == before
    assert EligibilitySignature.objects.get().voided_at is None


def test_no_first_screening_save_after_a_screen_failure(subject_a, coordinator_a):
    subject_a.refresh_from_db()
    subject_services.change_status(
        subject=subject_a,
        target=S.SCREEN_FAILED,
        on_date=TODAY,
        reason="Withdrew before the laboratory",
        by=coordinator_a,
        expected_version=subject_a.version,
    )
    subject_a.refresh_from_db()

    with pytest.raises(ValidationError) as caught:
        enter(subject_a, coordinator_a)

    assert codes_of(caught.value) == {"__all__": ["not_in_screening"]}
    assert not Screening.objects.exists()
