"""Sending the outbox (issue 11 C14): a notice to a user is queued without an address and
sent to the address the user's record has when it is sent; a user without one is skipped with
the reason recorded, and never tried again."""

from __future__ import annotations

import pytest

from audit.models import AuditEvent
from outbox.models import Notification
from outbox.services import NO_ADDRESS, notify, send_pending

pytestmark = pytest.mark.django_db


def queue(key, **to):
    return notify(kind="sae_initial", key=key, subject_line=f"SAE {key}", body="Body.", **to)


def test_the_address_is_read_from_the_user_record_when_sent(investigator_a, mailoutbox):
    investigator_a.email = "old@example.org"
    investigator_a.save()
    notice = queue("a", recipient=investigator_a, role="investigator")
    assert notice.email == ""  # not copied when queued
    investigator_a.email = "new@example.org"  # corrected after it was queued
    investigator_a.save()

    assert send_pending() == {"sent": 1, "failed": 0}
    [mail] = mailoutbox
    assert (mail.to, mail.subject, mail.body) == (["new@example.org"], "SAE a", "Body.")
    notice.refresh_from_db()
    assert notice.sent_at is not None and notice.failed_at is None
    assert send_pending() == {"sent": 0, "failed": 0}  # sent once
    assert len(mailoutbox) == 1


def test_a_user_without_an_address_is_skipped_with_the_reason(investigator_a, mailoutbox):
    investigator_a.email = ""
    investigator_a.save()
    notice = queue("b", recipient=investigator_a)
    sponsor = queue("c", email="safety@sponsor.example")

    assert send_pending() == {"sent": 1, "failed": 1}
    assert [m.to for m in mailoutbox] == [["safety@sponsor.example"]]
    notice.refresh_from_db()
    assert (notice.sent_at, notice.failure_reason) == (None, NO_ADDRESS)
    assert notice.failed_at is not None
    sponsor.refresh_from_db()
    assert sponsor.sent_at is not None
    assert AuditEvent.objects.filter(
        table_name="outbox_notification", reason=f"Notification not sent: {NO_ADDRESS}"
    ).exists()

    investigator_a.email = "inv@example.org"  # a later address does not resend a failed one
    investigator_a.save()
    assert send_pending() == {"sent": 0, "failed": 0}
    assert list(Notification.objects.pending()) == []


def test_a_deactivated_user_is_not_sent_to(investigator_a, mailoutbox):
    investigator_a.email = "inv@example.org"
    investigator_a.is_active = False
    investigator_a.save()
    notice = queue("d", recipient=investigator_a)
    assert send_pending() == {"sent": 0, "failed": 1}
    notice.refresh_from_db()
    assert notice.failure_reason == "The recipient's account is deactivated."
    assert mailoutbox == []


def test_a_notice_needs_a_user_or_an_address(db):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        queue("e")
    assert caught.value.error_list[0].code == "no_recipient"


def test_an_sae_notice_goes_to_the_investigators_address_of_the_day_it_is_sent(
    subject, coordinator_a, investigator_a, mailoutbox, frozen_clock
):
    """The SAE workflow queues the investigator's notice with the user only; the address is
    the one on the user record when the outbox sends it."""
    from safety import services
    from tests.safety.conftest import term

    investigator_a.email = ""
    investigator_a.save()
    services.record_ae(
        subject=subject,
        by=coordinator_a,
        term=term("Hypertension"),
        grade=3,
        onset_date=subject.site.today(),
        outcome="not_recovered",
        ongoing=True,
        serious=True,
        sae_hospitalisation=True,
    )
    notice = Notification.objects.get(recipient=investigator_a)
    assert notice.email == ""
    investigator_a.email = "inv.a@hospital.example"
    investigator_a.save()
    assert send_pending() == {"sent": 2, "failed": 0}
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        ["inv.a@hospital.example", Notification.objects.get(recipient=None).email]
    )
